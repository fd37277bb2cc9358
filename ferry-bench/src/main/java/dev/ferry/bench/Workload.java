package dev.ferry.bench;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.log.FileLog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The events the Log benchmarks write: inserts into one {@code public.orders} table, in batches of
 * {@link #BATCH}, each event encoding to exactly the requested number of bytes in the Log's format.
 *
 * <p>An event of 200 bytes is a typical narrow OLTP row (two ids, a decimal amount, an enum, a
 * boolean, a double, a timestamp and a 66-character note). The 2,048-byte event is the same row with
 * a {@code bytea} attachment of 1,844 random bytes. Notes and attachments are random, so neither the
 * disk nor anything under it can compress or deduplicate them.
 *
 * <p>The sizes follow the Log's {@code EventCodec}: 44 bytes of envelope per insert (schema reference,
 * op, the two rows' column counts, the unchanged-column count, the nine-byte position with its length,
 * transaction id, commit time), then each value's tag and body. Each frame adds a header, the frame's
 * position and the table's schema once: 314 bytes per frame of 1,000 events today.
 */
final class Workload {
    /** Events per append, and per read in the read benchmarks. */
    static final int BATCH = 1000;
    /** Where the benchmarks put their files; same file system as the checkout by default. */
    static final String DIR_PROPERTY = "ferry.bench.dir";
    /** A RAM file system, where fsync costs nothing: the Log's own CPU cost shows there. */
    static final String TMPFS_PROPERTY = "ferry.bench.tmpfs";

    static final TableSchema ORDERS = new TableSchema(new TableId("public", "orders"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("customer_id", LogicalType.INT64, "bigint", false),
            Column.of("amount", LogicalType.DECIMAL, "numeric(12,2)", false),
            Column.of("status", LogicalType.ENUM, "order_status", false),
            Column.of("paid", LogicalType.BOOLEAN, "boolean", false),
            Column.of("weight_kg", LogicalType.FLOAT64, "double precision", false),
            Column.of("created_at", LogicalType.TIMESTAMPTZ, "timestamptz", false),
            Column.of("note", LogicalType.STRING, "text", false),
            Column.of("attachment", LogicalType.BYTES, "bytea", false)));

    /** Encoded bytes of an insert with its note and no attachment: the 200-byte event. */
    static final int SMALL_BYTES = 44 + 9 + 9 + (5 + 7) + (5 + 7) + 1 + 9 + (5 + 27) + (5 + 66) + 1;
    private static final int NOTE_CHARS = 66;

    private Workload() {
    }

    /**
     * One batch of {@link #BATCH} inserts of {@code eventBytes} encoded bytes each ({@value #SMALL_BYTES},
     * or at least 4 more for an attachment), with ids from {@code firstId}; the same arguments give
     * the same bytes.
     */
    static List<ChangeEvent> batch(int eventBytes, long firstId) {
        // an attachment of n bytes replaces the null tag (1 byte) by tag, length and body (5 + n)
        int attachmentBytes = eventBytes - SMALL_BYTES - 4;
        if (eventBytes != SMALL_BYTES && attachmentBytes < 0) {
            throw new IllegalArgumentException("event size " + eventBytes + " is neither " + SMALL_BYTES
                    + " nor at least " + (SMALL_BYTES + 4) + " bytes");
        }
        Random random = new Random(firstId * 31 + eventBytes);
        List<ChangeEvent> events = new ArrayList<>(BATCH);
        for (int i = 0; i < BATCH; i++) {
            long id = firstId + i;
            String note = letters(random, NOTE_CHARS);
            byte[] attachment = null;
            if (eventBytes != SMALL_BYTES) {
                attachment = new byte[attachmentBytes];
                random.nextBytes(attachment);
            }
            Row after = Row.wrap(id, 1 + random.nextInt(100_000) * 1L,
                    String.format("%04d.%02d", 1000 + random.nextInt(9000), random.nextInt(100)),
                    random.nextBoolean() ? "shipped" : "pending", random.nextBoolean(),
                    random.nextDouble() * 50, "2024-05-01T12:34:56." + String.format("%06d", random.nextInt(1_000_000)) + "Z",
                    note, attachment);
            events.add(new ChangeEvent(Op.CREATE, ORDERS, null, after, Set.of(), new BenchPosition(id), 7_000 + id / 100,
                    Instant.ofEpochSecond(1_714_566_896L + id / 1000, 123_000)));
        }
        return events;
    }

    private static String letters(Random random, int n) {
        StringBuilder s = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            s.append((char) ('a' + random.nextInt(26)));
        }
        return s.toString();
    }

    /**
     * The bytes of the frame {@link FileLog} writes for {@code batch}, taken from a scratch Log: what
     * each append puts on disk, and what the raw-write baselines write.
     */
    static byte[] frame(List<ChangeEvent> batch) throws IOException {
        Path scratch = Files.createTempDirectory(baseDir(), "frame-");
        try {
            try (FileLog log = FileLog.open(scratch, BenchPosition.CODEC)) {
                log.append(batch, new BenchPosition(1));
            }
            try (Stream<Path> files = Files.list(scratch)) {
                Path segment = files.filter(p -> p.toString().endsWith(".log")).findFirst().orElseThrow();
                return Files.readAllBytes(segment);
            }
        } finally {
            delete(scratch);
        }
    }

    /**
     * Prints, per event size of the benchmarks, the bytes of one appended frame of {@link #BATCH}
     * events ({@code 200 200314}): the block size {@code run-log-bench.sh} gives {@code dd} so that
     * its fsync-per-write baseline matches an append.
     */
    public static void main(String[] args) throws IOException {
        for (String size : args.length > 0 ? args : new String[] {"200", "2048"}) {
            int eventBytes = Integer.parseInt(size);
            System.out.println(eventBytes + " " + frame(batch(eventBytes, 0)).length);
        }
    }

    /** The folder under which benchmarks create theirs: {@value #DIR_PROPERTY}, else java.io.tmpdir. */
    static Path baseDir() throws IOException {
        Path base = Path.of(System.getProperty(DIR_PROPERTY, System.getProperty("java.io.tmpdir")));
        return Files.createDirectories(base);
    }

    /** The RAM folder: {@value #TMPFS_PROPERTY}, else /dev/shm. */
    static Path tmpfsDir() throws IOException {
        Path base = Path.of(System.getProperty(TMPFS_PROPERTY, "/dev/shm"));
        if (!Files.isDirectory(base)) {
            throw new IOException(base + " does not exist; point -D" + TMPFS_PROPERTY + "= at a tmpfs folder");
        }
        return Files.createDirectories(base.resolve("ferry-bench"));
    }

    static void delete(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
