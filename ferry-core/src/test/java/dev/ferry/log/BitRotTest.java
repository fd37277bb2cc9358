package dev.ferry.log;

import static dev.ferry.log.LogEvents.events;
import static dev.ferry.log.LogEvents.readAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.source.Position;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bit rot in the Log's segments, hundreds of runs: each writes a Log with several sealed segments and
 * an active one (several appends each, appends of several frames), closes it, flips one bit at a
 * random byte of a random {@code .log} file (the active one in at least a third of the runs), then
 * opens the Log and reads everything. About a third of the flips aim at a frame header (length and
 * checksum; the checksum does not cover the length), the rest land anywhere.
 *
 * <p>Every flip must be reported: an IOException saying "corrupt" and naming the file, at open or
 * while reading, with every event returned before it correct, and no segment shortened on the way.
 *
 * <p>The one exception is by design (FileLog's design notes): a flip inside the very last append of
 * the active segment cannot be told from a power cut that tore that append, because nothing is
 * written after it. For those flips the Log must open, drop exactly that last append, and keep every
 * event and the position before it intact.
 *
 * <p>The seed is printed; {@code -Dferry.seed=N} replays a run.
 */
class BitRotTest {
    private static final int RUNS = 1_000;

    @TempDir
    Path tmp;

    /** Under /dev/shm when there is one: tmpfs makes the Log's fsyncs free. */
    private Path scratch;

    @BeforeEach
    void scratch() throws IOException {
        Path shm = Path.of("/dev/shm");
        scratch = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "ferry-bitrot-") : tmp;
    }

    @AfterEach
    void removeScratch() throws IOException {
        if (!scratch.equals(tmp)) {
            deleteRecursively(scratch);
        }
    }

    /** One append as it landed on disk: its segment file and byte range, its events and position. */
    private record Append(Path segment, long from, long to, List<ChangeEvent> events, Position position) {
    }

    /** Where the flip was found, for the summary. */
    private enum Outcome { AT_OPEN, ON_READ, LAST_APPEND_DROPPED }

    @Test
    void everyFlippedBitIsReportedExceptInTheLastAppendWhichIsDroppedAsTorn() throws Exception {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        System.out.println("BitRotTest seed: " + seed + " (replay with -Dferry.seed=" + seed + ")");
        Random random = new Random(seed);
        int[] outcomes = new int[Outcome.values().length];
        int sealed = 0;
        int headers = 0;
        for (int run = 0; run < RUNS; run++) {
            Path dir = scratch.resolve("run-" + run);
            Flip flip = flipOnce(random, dir, "run " + run + " (seed " + seed + ")");
            outcomes[flip.outcome().ordinal()]++;
            sealed += flip.inSealedSegment() ? 1 : 0;
            headers += flip.inHeader() ? 1 : 0;
            deleteRecursively(dir);
        }
        System.out.printf("BitRotTest: %d flips (%d in sealed segments, %d in frame headers): %d reported at open, "
                + "%d reported on read, %d in the last append dropped as torn%n", RUNS, sealed, headers,
                outcomes[Outcome.AT_OPEN.ordinal()], outcomes[Outcome.ON_READ.ordinal()],
                outcomes[Outcome.LAST_APPEND_DROPPED.ordinal()]);
        assertThat(outcomes).as("each way out is exercised").doesNotContain(0);
    }

    private record Flip(Outcome outcome, boolean inSealedSegment, boolean inHeader) {
    }

    private Flip flipOnce(Random random, Path dir, String name) throws IOException {
        long segmentBytes = 1536 + random.nextInt(1537);
        long frameBytes = 200 + random.nextInt(201);
        int sealedWanted = 3 + random.nextInt(3);
        int activeAppendsWanted = 2 + random.nextInt(3);
        List<Append> appends = new ArrayList<>();
        long[] counter = {0};
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, segmentBytes, frameBytes)) {
            int inActive = 0;
            while (segments(dir).size() - 1 < sealedWanted || inActive < activeAppendsWanted) {
                int before = segments(dir).size();
                Path active = segments(dir).get(before - 1);
                long from = Files.size(active);
                List<ChangeEvent> batch = batch(random, counter);
                Position position = new TestPosition(counter[0]++);
                log.append(batch, position);
                List<Path> after = segments(dir);
                if (after.size() > before) {
                    active = after.get(after.size() - 1);
                    from = 0;
                    inActive = 0;
                }
                inActive++;
                appends.add(new Append(active, from, Files.size(active), batch, position));
            }
        }
        List<ChangeEvent> all = appends.stream().flatMap(a -> a.events().stream()).toList();

        List<Path> segments = segments(dir);
        // the active segment is where recovery must tell rot from a torn write: give it more flips
        Path file = random.nextInt(3) == 0 ? segments.get(segments.size() - 1) : segments.get(random.nextInt(segments.size()));
        long size = Files.size(file);
        List<Long> frameStarts = frameStarts(file);
        boolean aimAtHeader = random.nextInt(3) == 0;
        long at = aimAtHeader ? frameStarts.get(random.nextInt(frameStarts.size())) + random.nextInt(Frame.HEADER_BYTES)
                : random.nextLong(size);
        int bit = random.nextInt(8);
        flipBit(file, at, bit);
        List<Long> sizes = new ArrayList<>();
        for (Path p : segments) {
            sizes.add(Files.size(p));
        }
        Append last = appends.get(appends.size() - 1);
        boolean inLastAppend = file.equals(last.segment()) && at >= last.from();
        boolean inSealed = !file.equals(segments.get(segments.size() - 1));
        boolean inHeader = isHeaderByte(frameStarts, at);
        String context = String.format("%s: bit %d of byte %d of %s (%d bytes; %s; frames start at %s; appends %s)",
                name, bit, at, file.getFileName(), size, inLastAppend ? "in the last append" : "before the last append",
                frameStarts, appends.stream().map(a -> a.segment().getFileName().toString().replaceFirst("^0+(?=.)", "")
                        + ":" + a.from() + "-" + a.to()).toList());

        if (inLastAppend) {
            List<ChangeEvent> kept = all.subList(0, all.size() - last.events().size());
            Optional<Position> position = Optional.of(appends.get(appends.size() - 2).position());
            try (FileLog log = FileLog.open(dir, TestPosition.CODEC, segmentBytes, frameBytes)) {
                assertThat(log.end()).as(context).isEqualTo(Offset.of(kept.size()));
                assertThat(log.lastPosition()).as(context).isEqualTo(position);
                assertThat(events(readAll(log, 0))).as(context).containsExactlyElementsOf(kept);
            } catch (IOException e) {
                throw new AssertionError(context + ": a flip in the last append must read as a torn write, got "
                        + e.getMessage(), e);
            }
            assertThat(Files.size(file)).as("%s: the last append alone is cut off", context).isEqualTo(last.from());
            return new Flip(Outcome.LAST_APPEND_DROPPED, inSealed, inHeader);
        }

        Outcome outcome = Outcome.AT_OPEN;
        IOException reported = null;
        int read = 0;
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, segmentBytes, frameBytes)) {
            outcome = Outcome.ON_READ;
            assertThat(log.end()).as("%s: open keeps every acknowledged event", context).isEqualTo(Offset.of(all.size()));
            try (LogReader reader = log.readFrom(Offset.of(0))) {
                List<LogEntry> batch;
                while (!(batch = reader.read(1 + random.nextInt(20), log.end())).isEmpty()) {
                    for (LogEntry e : batch) {
                        assertThat(e.offset()).as(context).isEqualTo(Offset.of(read));
                        assertThat(e.event()).as("%s: event at offset %d", context, read).isEqualTo(all.get(read));
                        read++;
                    }
                }
            }
        } catch (IOException e) {
            reported = e;
        }
        if (reported == null) {
            throw new AssertionError(context + ": the flip went unnoticed; read " + read + " of " + all.size()
                    + " events");
        }
        assertThat(reported.getMessage()).as(context).contains("corrupt").contains(file.getFileName().toString());
        for (int i = 0; i < segments.size(); i++) {
            assertThat(Files.size(segments.get(i))).as("%s: %s is not shortened", context, segments.get(i).getFileName())
                    .isEqualTo(sizes.get(i));
        }
        return new Flip(outcome, inSealed, inHeader);
    }

    private static boolean isHeaderByte(List<Long> frameStarts, long at) {
        return frameStarts.stream().anyMatch(s -> at >= s && at < s + Frame.HEADER_BYTES);
    }

    /** Where each frame of an intact segment starts. */
    private static List<Long> frameStarts(Path segment) throws IOException {
        List<Long> starts = new ArrayList<>();
        EventCodec codec = new EventCodec(TestPosition.CODEC);
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            long size = ch.size();
            long at = 0;
            while (at < size) {
                Frame.Read r = Frame.read(ch, at, size, TestPosition.CODEC, codec);
                assertThat(r.frame()).as("frame at byte %d of %s before the flip", at, segment).isNotNull();
                starts.add(at);
                at += r.frame().totalBytes();
            }
        }
        return starts;
    }

    /** Random events (none in some batches), with notes of random sizes: many per frame, or one. */
    private static List<ChangeEvent> batch(Random random, long[] counter) {
        int count = random.nextInt(6) == 0 ? 0 : 1 + random.nextInt(12);
        int maxNote = random.nextBoolean() ? 30 : 250;
        List<ChangeEvent> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long n = counter[0]++;
            StringBuilder note = new StringBuilder();
            for (int c = random.nextInt(maxNote + 1); c > 0; c--) {
                note.append((char) ('a' + random.nextInt(26)));
            }
            out.add(new ChangeEvent(Op.CREATE, LogEvents.ORDERS, null, Row.wrap(n, note.toString()), Set.of(),
                    new TestPosition(n), 1000 + n, Instant.ofEpochSecond(1_700_000_000L + n, 123_456_789)));
        }
        return out;
    }

    private static List<Path> segments(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".log")).sorted().toList();
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

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
