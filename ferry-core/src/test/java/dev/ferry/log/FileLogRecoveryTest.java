package dev.ferry.log;

import static dev.ferry.log.LogEvents.events;
import static dev.ferry.log.LogEvents.inserts;
import static dev.ferry.log.LogEvents.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the Log does with what a crash or a bad disk leaves behind: a torn last frame is dropped and
 * nothing before it; a changed byte anywhere else is reported as corruption, never skipped.
 */
class FileLogRecoveryTest {
    @TempDir
    Path tmp;

    /** A log written with one frame per batch; remembers where each frame starts in its segment. */
    private record Written(Path dir, List<Long> frameStarts, Path lastSegment) {
    }

    private Written writeBatches(Path dir, long segmentBytes, long... batchEnds) throws IOException {
        List<Long> starts = new ArrayList<>();
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, segmentBytes)) {
            long from = 0;
            for (long to : batchEnds) {
                int before = segments(dir).size();
                long size = Files.size(segments(dir).get(before - 1));
                log.append(inserts(from, to), new TestPosition(to - 1));
                starts.add(segments(dir).size() > before ? 0 : size);
                from = to;
            }
        }
        List<Path> segs = segments(dir);
        return new Written(dir, starts, segs.get(segs.size() - 1));
    }

    @Test
    void tornLastFrameIsDroppedAtEveryCutAndAppendsContinue() throws Exception {
        Written w = writeBatches(tmp.resolve("original"), 64L * 1024 * 1024, 3, 4, 6);
        long frameStart = w.frameStarts().get(2);
        long frameEnd = Files.size(w.lastSegment());
        assertThat(frameEnd - frameStart).isGreaterThan(100);
        System.out.println("tornLastFrameIsDroppedAtEveryCutAndAppendsContinue: " + (frameEnd - frameStart) + " cuts");

        for (long cut = frameStart; cut < frameEnd; cut++) {
            Path dir = copy(w.dir(), tmp.resolve("cut-" + cut));
            truncate(dir.resolve(w.lastSegment().getFileName()), cut);

            try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
                assertThat(log.end()).as("end after a cut at byte %d", cut).isEqualTo(Offset.of(4));
                assertThat(log.lastPosition()).as("cut at byte %d", cut).contains(new TestPosition(3));
                assertThat(events(readAll(log, 0))).as("cut at byte %d", cut).containsExactlyElementsOf(inserts(0, 4));
                assertThat(Files.size(dir.resolve(w.lastSegment().getFileName()))).isEqualTo(frameStart);
                if (cut % 16 != 0 && cut > frameStart + 8) {
                    continue; // every cut leaves the same bytes (checked above); appending after some suffices
                }
                assertThat(log.append(inserts(100, 102), new TestPosition(101))).isEqualTo(Offset.of(6));
            }
            try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
                List<dev.ferry.event.ChangeEvent> expected = new ArrayList<>(inserts(0, 4));
                expected.addAll(inserts(100, 102));
                assertThat(events(readAll(log, 0))).as("cut at byte %d", cut).containsExactlyElementsOf(expected);
                assertThat(log.lastPosition()).contains(new TestPosition(101));
            }
        }
    }

    @Test
    void tornFirstFrameOfNewSegmentFallsBackToThePreviousSegmentsPosition() throws Exception {
        Written w = writeBatches(tmp.resolve("original"), 256, 3, 6, 9, 12, 15);
        List<Path> segs = segments(w.dir());
        assertThat(segs).hasSizeGreaterThan(1);
        assertThat(w.frameStarts().get(4)).as("the last batch opened a segment").isZero();
        long frameEnd = Files.size(w.lastSegment());
        long seed = System.nanoTime();
        System.out.println("tornFirstFrameOfNewSegmentFallsBackToThePreviousSegmentsPosition seed=" + seed);
        // every cut inside the header, then a sample of the body (each case rolls and fsyncs a few files)
        List<Long> cuts = new ArrayList<>(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, frameEnd - 1));
        new Random(seed).longs(40, 9, frameEnd - 1).forEach(cuts::add);

        for (int i = 0; i < cuts.size(); i++) {
            long cut = cuts.get(i);
            Path dir = copy(w.dir(), tmp.resolve("cut-" + i));
            truncate(dir.resolve(w.lastSegment().getFileName()), cut);

            try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 256)) {
                assertThat(log.end()).as("cut at byte %d (seed %d)", cut, seed).isEqualTo(Offset.of(12));
                assertThat(log.lastPosition()).as("cut at byte %d (seed %d)", cut, seed).contains(new TestPosition(11));
                assertThat(events(readAll(log, 0))).containsExactlyElementsOf(inserts(0, 12));
                log.append(inserts(12, 14), new TestPosition(13));
            }
            try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 256)) {
                assertThat(events(readAll(log, 0))).as("cut at byte %d", cut).containsExactlyElementsOf(inserts(0, 14));
            }
        }
    }

    @Test
    void flippedBitInSealedSegmentIsReportedAsCorruption() throws Exception {
        Written w = writeBatches(tmp.resolve("original"), 256, 3, 6, 9, 12, 15);
        Path first = segments(w.dir()).get(0);
        long frameEnd = w.frameStarts().get(1) == 0 ? Files.size(first) : w.frameStarts().get(1);
        long seed = System.nanoTime();
        System.out.println("flippedBitInSealedSegmentIsReportedAsCorruption seed=" + seed);
        Random random = new Random(seed);
        List<Long> bytes = new ArrayList<>(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, frameEnd - 1));
        random.longs(40, 9, frameEnd - 1).forEach(bytes::add);

        for (int i = 0; i < bytes.size(); i++) {
            long at = bytes.get(i);
            Path dir = copy(w.dir(), tmp.resolve("flip-" + i));
            int bit = random.nextInt(8);
            flipBit(dir.resolve(first.getFileName()), at, bit);

            try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 256)) {
                long byteAt = at;
                assertThatThrownBy(() -> readAll(log, 0))
                        .as("bit %d of byte %d (seed %d)", bit, byteAt, seed)
                        .isInstanceOf(IOException.class)
                        .hasMessageContaining("corrupt");
            }
        }
    }

    @Test
    void flippedBitInAnEarlierFrameOfTheActiveSegmentIsReportedWhenRead() throws Exception {
        Path dir = tmp.resolve("log");
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            log.append(inserts(0, 3), new TestPosition(2));
            long second = Files.size(segments(dir).get(0));
            log.append(inserts(3, 6), new TestPosition(5));
            log.append(inserts(6, 9), new TestPosition(8));

            flipBit(segments(dir).get(0), second + 20, 3);

            try (LogReader reader = log.readFrom(Offset.of(0))) {
                assertThat(reader.read(3, log.end())).hasSize(3);
                assertThatThrownBy(() -> reader.read(100, log.end()))
                        .isInstanceOf(IOException.class)
                        .hasMessageContaining("corrupt")
                        .hasMessageContaining("checksum");
            }
        }
    }

    @Test
    void reopenRefusesCorruptFrameFollowedByCompleteFrames() throws Exception {
        Written w = writeBatches(tmp.resolve("log"), 64L * 1024 * 1024, 3, 6, 9);
        long sizeBefore = Files.size(w.lastSegment());
        flipBit(w.lastSegment(), w.frameStarts().get(1) + 30, 0);

        // The frames after the bad one were acknowledged to the source: dropping them as if they were
        // a torn tail would lose events for good.
        assertThatThrownBy(() -> FileLog.open(w.dir(), TestPosition.CODEC).close())
                .isInstanceOf(IOException.class)
                .hasMessageContaining("corrupt");
        assertThat(Files.size(w.lastSegment())).isEqualTo(sizeBefore);
    }

    @Test
    void reopenRefusesFlippedBitsInAFrameThatHasSuccessors() throws Exception {
        Written w = writeBatches(tmp.resolve("original"), 64L * 1024 * 1024, 3, 6, 9);
        long frameStart = w.frameStarts().get(1);
        long frameEnd = w.frameStarts().get(2);
        long seed = System.nanoTime();
        System.out.println("reopenRefusesFlippedBitsInAFrameThatHasSuccessors seed=" + seed);
        Random random = new Random(seed);

        // every byte of the header counts: recovery finds the later frames without trusting lengths
        List<Long> bytes = new ArrayList<>();
        for (long at = frameStart; at < frameStart + 24; at++) {
            bytes.add(at); // the length, the checksum, the frame version and flags, the append numbers
        }
        bytes.add(frameEnd - 1);
        random.longs(40, frameStart + 24, frameEnd - 1).forEach(bytes::add);

        for (int i = 0; i < bytes.size(); i++) {
            long at = bytes.get(i);
            Path dir = copy(w.dir(), tmp.resolve("flip-" + i));
            Path segment = dir.resolve(w.lastSegment().getFileName());
            int bit = random.nextInt(8);
            flipBit(segment, at, bit);

            assertThatThrownBy(() -> FileLog.open(dir, TestPosition.CODEC).close())
                    .as("bit %d of byte %d (seed %d)", bit, at, seed)
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("corrupt");
            assertThat(Files.size(segment)).isEqualTo(Files.size(w.lastSegment()));
        }
    }

    @Test
    void flippedBitInTheLastFrameIsTakenAsATornWrite() throws Exception {
        // A crash can leave the last frame full length with some sectors unwritten: its checksum fails
        // and nothing follows it, which is exactly a torn tail.
        Written w = writeBatches(tmp.resolve("log"), 64L * 1024 * 1024, 3, 6, 9);
        flipBit(w.lastSegment(), w.frameStarts().get(2) + 40, 5);

        try (FileLog log = FileLog.open(w.dir(), TestPosition.CODEC)) {
            assertThat(log.end()).isEqualTo(Offset.of(6));
            assertThat(log.lastPosition()).contains(new TestPosition(5));
        }
    }

    @Test
    void zeroFilledTailIsTakenAsATornWrite() throws Exception {
        Written w = writeBatches(tmp.resolve("log"), 64L * 1024 * 1024, 3, 6);
        long size = Files.size(w.lastSegment());
        try (FileChannel ch = FileChannel.open(w.lastSegment(), StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate(300), size);
        }

        try (FileLog log = FileLog.open(w.dir(), TestPosition.CODEC)) {
            assertThat(log.end()).isEqualTo(Offset.of(6));
            assertThat(events(readAll(log, 0))).containsExactlyElementsOf(inserts(0, 6));
            assertThat(Files.size(w.lastSegment())).isEqualTo(size);
        }
    }

    private static List<Path> segments(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".log")).sorted().toList();
        }
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (Path f : segments(from)) {
            Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    private static void truncate(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    private static void flipBit(Path file, long at, int bit) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ (1 << bit));
        }
    }
}
