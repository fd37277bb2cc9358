package dev.ferry.log;

import static dev.ferry.log.LogEvents.events;
import static dev.ferry.log.LogEvents.offsets;
import static dev.ferry.log.LogEvents.readAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.source.Position;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power cuts under the Log, thousands of them. Each case writes a fresh small Log (segments of a few
 * KB, frames of a few hundred bytes, so appends span frames and segments roll), makes a few appends
 * that returned (acknowledged: fsync'd), then one more that is in flight when the power goes.
 *
 * <p>The cut is simulated on the files afterwards, as a fault layer that drops what was not yet
 * fsync'd: of every byte the in-flight append wrote to its segment (the active one, or the new one
 * it rolled to, whose directory entry was fsync'd before any frame went in), a random prefix
 * survives; in some cases 512-byte blocks inside that prefix are zeroed or garbled while later ones
 * survive (pages written back out of order), or the file keeps its length with a zeroed tail. The
 * {@code .index} sidecars are never fsync'd, so some are deleted, truncated, zeroed or garbled.
 *
 * <p>After the cut the Log must open without error (a torn append is never corruption), hold every
 * acknowledged event in order and either all or none of the in-flight append (all exactly when every
 * byte of it survived), agree in {@code end()} and {@code lastPosition()}, read correctly from any
 * offset (which goes through the index), and take further appends that survive a reopen.
 *
 * <p>The seed is printed; {@code -Dferry.seed=N} replays a run.
 */
class PowerCutTest {
    private static final int CUTS = 2_000;
    private static final int BLOCK = 512;

    @TempDir
    Path tmp;

    /** Under /dev/shm when there is one: tmpfs makes the Log's fsyncs free. */
    private Path scratch;

    @BeforeEach
    void scratch() throws IOException {
        Path shm = Path.of("/dev/shm");
        scratch = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "ferry-powercut-") : tmp;
    }

    @AfterEach
    void removeScratch() throws IOException {
        if (!scratch.equals(tmp)) {
            deleteRecursively(scratch);
        }
    }

    @Test
    void everyAcknowledgedEventSurvivesACutAndTheInFlightAppendIsAllOrNothing() throws Exception {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        System.out.println("PowerCutTest seed: " + seed + " (replay with -Dferry.seed=" + seed + ")");
        Random random = new Random(seed);
        int kept = 0;
        int rolled = 0;
        int holes = 0;
        int sidecars = 0;
        for (int i = 0; i < CUTS; i++) {
            Cut cut = cutOnce(random, scratch.resolve("cut-" + i), "cut " + i + " (seed " + seed + ")");
            kept += cut.inFlightSurvived() ? 1 : 0;
            rolled += cut.rolled() ? 1 : 0;
            holes += cut.holes() ? 1 : 0;
            sidecars += cut.sidecarsDamaged() ? 1 : 0;
        }
        System.out.printf("PowerCutTest: %d cuts; in-flight append kept whole %d times, dropped %d times; "
                + "%d rolled to a new segment; %d with blocks lost out of order; %d with damaged index sidecars%n",
                CUTS, kept, CUTS - kept, rolled, holes, sidecars);
        assertThat(kept).as("some cuts keep the whole in-flight append").isPositive();
        assertThat(rolled).as("some in-flight appends roll to a new segment").isPositive();
    }

    /** What one cut did, for the summary. */
    private record Cut(boolean inFlightSurvived, boolean rolled, boolean holes, boolean sidecarsDamaged) {
    }

    private Cut cutOnce(Random random, Path dir, String name) throws IOException {
        long segmentBytes = 2048 + random.nextInt(2049);
        long frameBytes = 200 + random.nextInt(201);
        List<ChangeEvent> acknowledged = new ArrayList<>();
        Optional<Position> acknowledgedPosition = Optional.empty();
        long[] counter = {0};
        List<ChangeEvent> inFlight;
        Position inFlightPosition;
        Map<Path, Long> durableSizes = new HashMap<>();
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, segmentBytes, frameBytes)) {
            int appends = random.nextInt(7);
            for (int a = 0; a < appends; a++) {
                List<ChangeEvent> batch = batch(random, counter);
                Position position = new TestPosition(counter[0]++);
                assertThat(log.append(batch, position)).as(name).isEqualTo(Offset.of(acknowledged.size() + batch.size()));
                acknowledged.addAll(batch);
                acknowledgedPosition = Optional.of(position);
            }
            for (Path p : files(dir, ".log")) {
                durableSizes.put(p, Files.size(p));
            }
            inFlight = batch(random, counter);
            inFlightPosition = new TestPosition(counter[0]++);
            log.append(inFlight, inFlightPosition); // the power goes before this fsync returns
        }

        // The in-flight append wrote to exactly one segment file: the active one, or a new one.
        List<Path> touched = new ArrayList<>();
        for (Path p : files(dir, ".log")) {
            if (Files.size(p) != durableSizes.getOrDefault(p, 0L)) {
                touched.add(p);
            }
        }
        assertThat(touched).as(name).hasSize(1);
        Path segment = touched.get(0);
        boolean rolled = !durableSizes.containsKey(segment);
        long from = durableSizes.getOrDefault(segment, 0L);
        byte[] written = Files.readAllBytes(segment);
        StringBuilder what = new StringBuilder(name).append(": in-flight append of ").append(inFlight.size())
                .append(" events wrote bytes ").append(from).append('-').append(written.length).append(" of ")
                .append(segment.getFileName()).append(rolled ? " (a new segment)" : "");

        boolean holes = dropUnsynced(random, segment, from, written, what);
        boolean sidecarsDamaged = false;
        for (Path index : files(dir, ".index")) {
            if (random.nextInt(4) == 0) {
                damageSidecar(random, index, what);
                sidecarsDamaged = true;
            }
        }
        boolean survived = Arrays.equals(Files.readAllBytes(segment), written);
        List<ChangeEvent> expected = new ArrayList<>(acknowledged);
        if (survived) {
            expected.addAll(inFlight);
        }
        Optional<Position> expectedPosition = survived ? Optional.of(inFlightPosition) : acknowledgedPosition;
        String context = what.toString();

        List<ChangeEvent> more = batch(random, counter);
        Position morePosition = new TestPosition(counter[0]++);
        try (FileLog log = open(dir, segmentBytes, frameBytes, context)) {
            assertThat(log.end()).as(context).isEqualTo(Offset.of(expected.size()));
            assertThat(log.lastPosition()).as(context).isEqualTo(expectedPosition);
            List<LogEntry> all = readAll(log, 0);
            assertThat(events(all)).as(context).containsExactlyElementsOf(expected);
            assertThat(offsets(all)).as(context).containsExactlyElementsOf(LongStream.range(0, expected.size()).boxed().toList());
            for (int r = 0; r < 3; r++) {
                int first = random.nextInt(expected.size() + 1);
                assertThat(events(readAll(log, first))).as("%s; reading from offset %d", context, first)
                        .containsExactlyElementsOf(expected.subList(first, expected.size()));
            }
            assertThat(log.append(more, morePosition)).as(context).isEqualTo(Offset.of(expected.size() + more.size()));
        }
        expected.addAll(more);
        try (FileLog log = open(dir, segmentBytes, frameBytes, context + "; reopened after a further append")) {
            assertThat(log.end()).as(context).isEqualTo(Offset.of(expected.size()));
            assertThat(log.lastPosition()).as(context).contains(morePosition);
            assertThat(events(readAll(log, 0))).as(context).containsExactlyElementsOf(expected);
            int first = random.nextInt(expected.size() + 1);
            assertThat(events(readAll(log, first))).as("%s; reading from offset %d", context, first)
                    .containsExactlyElementsOf(expected.subList(first, expected.size()));
        }
        deleteRecursively(dir);
        return new Cut(survived, rolled, holes, sidecarsDamaged);
    }

    /**
     * Keeps a random prefix of the bytes at and after {@code from} and sometimes loses blocks inside
     * it while later ones survive. Returns whether blocks were lost out of order.
     */
    private static boolean dropUnsynced(Random random, Path segment, long from, byte[] written, StringBuilder what)
            throws IOException {
        int unsynced = (int) (written.length - from);
        int choice = random.nextInt(10);
        int keep = choice == 0 ? unsynced : choice == 1 ? 0 : random.nextInt(unsynced + 1);
        byte[] now = Arrays.copyOf(written, (int) from + keep);
        what.append("; kept ").append(keep).append(" of its ").append(unsynced).append(" bytes");
        boolean holes = false;
        int mode = random.nextInt(4);
        if (mode == 0 && keep > 0) {
            // pages written back out of order: some blocks lost, later ones kept
            List<Long> lost = new ArrayList<>();
            for (long block = from / BLOCK * BLOCK; block < now.length; block += BLOCK) {
                if (random.nextInt(3) == 0) {
                    boolean garbage = random.nextBoolean();
                    lose(random, now, Math.max(block, from), Math.min(block + BLOCK, now.length), garbage);
                    lost.add(garbage ? -block : block);
                }
            }
            holes = !lost.isEmpty();
            what.append("; blocks lost (negative: garbage, else zeros) ").append(lost);
        } else if (mode == 1 && keep > 0) {
            // the size reached the disk but the tail's data did not
            long start = Math.max(from, (from + random.nextInt(keep)) / BLOCK * BLOCK);
            lose(random, now, start, now.length, false);
            what.append("; zeros from byte ").append(start);
        }
        Files.write(segment, now);
        return holes;
    }

    private static void lose(Random random, byte[] bytes, long from, long to, boolean garbage) {
        for (int i = (int) from; i < to; i++) {
            bytes[i] = garbage ? (byte) random.nextInt(256) : 0;
        }
    }

    /** Damages a sidecar as a power cut may: it is never fsync'd. */
    private static void damageSidecar(Random random, Path index, StringBuilder what) throws IOException {
        long size = Files.size(index);
        int how = random.nextInt(5);
        what.append("; ").append(index.getFileName());
        if (how == 0) {
            Files.delete(index);
            what.append(" deleted");
        } else if (how == 1) {
            long to = size == 0 ? 0 : random.nextLong(size + 1);
            try (FileChannel ch = FileChannel.open(index, StandardOpenOption.WRITE)) {
                ch.truncate(to);
            }
            what.append(" cut to ").append(to).append(" bytes");
        } else if (how == 2) {
            try (FileChannel ch = FileChannel.open(index, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate(16 * (1 + random.nextInt(4))), size);
            }
            what.append(" grew by zeros");
        } else if (size > 0) {
            byte[] bytes = Files.readAllBytes(index);
            int block = random.nextInt((int) ((size + BLOCK - 1) / BLOCK)) * BLOCK;
            lose(random, bytes, block, Math.min(block + BLOCK, bytes.length), how == 4);
            Files.write(index, bytes);
            what.append(how == 4 ? " garbled" : " zeroed").append(" at block ").append(block);
        }
    }

    private static FileLog open(Path dir, long segmentBytes, long frameBytes, String context) {
        try {
            return FileLog.open(dir, TestPosition.CODEC, segmentBytes, frameBytes);
        } catch (IOException e) {
            throw new AssertionError(context + ": opening after the cut failed: " + e.getMessage(), e);
        }
    }

    /** Random events (none in some batches), with notes of random sizes: many per frame, or one. */
    private static List<ChangeEvent> batch(Random random, long[] counter) {
        int count = random.nextInt(6) == 0 ? 0 : 1 + random.nextInt(15);
        int maxNote = switch (random.nextInt(3)) {
            case 0 -> 20;
            case 1 -> 150;
            default -> 700;
        };
        List<ChangeEvent> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long n = counter[0]++;
            out.add(new ChangeEvent(Op.CREATE, LogEvents.ORDERS, null, Row.wrap(n, note(random, random.nextInt(maxNote + 1))),
                    Set.of(), new TestPosition(n), 1000 + n, Instant.ofEpochSecond(1_700_000_000L + n, 123_456_789)));
        }
        return out;
    }

    private static String note(Random random, int length) {
        StringBuilder s = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            s.append(random.nextInt(20) == 0 ? 'é' : (char) ('a' + random.nextInt(26)));
        }
        return s.toString();
    }

    private static List<Path> files(Path dir, String suffix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(suffix)).sorted().toList();
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
