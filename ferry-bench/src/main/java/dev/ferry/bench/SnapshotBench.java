package dev.ferry.bench;

import dev.ferry.config.ComponentConfig;
import dev.ferry.event.ChangeEvent;
import dev.ferry.jdbc.JdbcSourceFactory;
import dev.ferry.log.FileLog;
import dev.ferry.log.Offset;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.postgres.PostgresSourceFactory;
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import dev.ferry.source.Source;
import dev.ferry.testkit.TestingPostgres;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;

/**
 * The snapshot benchmark of the snapshot issue, in one run on the same data: a private PostgreSQL,
 * a table of {@code --rows} rows, and, for each contender, the time to read it all and what it cost a
 * pgbench-style write workload running at the same time (TPS and p99 latency, against the workload
 * alone). Contenders: {@code COPY ... TO STDOUT} into nothing (the ceiling), a plain JDBC
 * {@code SELECT *} (the naive dump), and Ferry's snapshots through a Pipeline into a sink that
 * discards: {@code initial} (one transaction), {@code chunked}, and {@code chunked} throttled; and the
 * batch source ({@code type: jdbc}, {@code mode: full}: keyset chunks, each its own transaction), alone
 * and throttled.
 *
 * <p>Usage: {@code java -cp ferry-bench/target/benchmarks.jar dev.ferry.bench.SnapshotBench
 * [--rows N] [--throttle ROWS_PER_S] [--workload-seconds S] [--docs FILE]}; see run-snapshot-bench.sh.
 */
public final class SnapshotBench {
    private static final String DB = "bench";
    /** Extra lines for Ferry's source section ({@code --set 'snapshot_readers: 3'}). */
    private static final StringBuilder sourceSettings = new StringBuilder();

    /**
     * One contender's result: {@code seconds} alone, {@code loadedSeconds} beside the write workload,
     * which made {@code tx} transactions meanwhile; of each, the {@code readSeconds} that read rows
     * ({@link #reading}), whose rate is the contender's throughput.
     */
    private record Result(String name, double seconds, double readSeconds, double loadedSeconds,
                          double loadedReadSeconds, long rows, long tx, long[] latencyMicros,
                          double soloTps, double soloP99Millis, double clientCpu, double serverCpu) {
        double rowsPerSecond() {
            return rows / readSeconds;
        }

        double loadedRowsPerSecond() {
            return rows / loadedReadSeconds;
        }

        /** The pipeline's set-up before its source started, and the benchmark's clean-up after the run. */
        double setUpSeconds() {
            return seconds - readSeconds;
        }

        double tps() {
            return tx / loadedSeconds;
        }

        double p99Millis() {
            return percentile(latencyMicros, 0.99) / 1000.0;
        }
    }

    private SnapshotBench() {
    }

    /** Runs of each contender before the measured ones, for the JIT compilers to finish their work. */
    private static int warmups = 1;

    public static void main(String[] args) throws Exception {
        int rows = 1_000_000;
        int throttle = 100_000;
        int soloSeconds = 10;
        Path docs = null;
        String only = null;
        String except = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rows" -> rows = Integer.parseInt(args[++i]);
                case "--throttle" -> throttle = Integer.parseInt(args[++i]);
                case "--workload-seconds" -> soloSeconds = Integer.parseInt(args[++i]);
                case "--docs" -> docs = Path.of(args[++i]);
                case "--only" -> only = args[++i].toLowerCase(Locale.ROOT);
                case "--except" -> except = args[++i].toLowerCase(Locale.ROOT);
                case "--warmups" -> warmups = Integer.parseInt(args[++i]);
                case "--set" -> sourceSettings.append(args[++i]).append('\n');
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        try (TestingPostgres pg = TestingPostgres.builder().setting("max_wal_size", "2GB")
                .setting("checkpoint_timeout", "30min").start()) {
            long copyBytes = load(pg, rows);
            System.out.printf(Locale.ROOT, "PostgreSQL %s, %,d rows (%,.1f MB as COPY text)%n", pg.serverVersionNum(), rows,
                    copyBytes / 1e6);
            int solo = soloSeconds;

            List<Result> results = new ArrayList<>();
            results.add(measure(pg, "COPY TO STDOUT (ceiling)", rows, () -> copy(pg), solo));
            Map<String, Job> contenders = new LinkedHashMap<>();
            contenders.put("JDBC SELECT * (naive)", () -> selectAll(pg));
            contenders.put("Ferry snapshot: initial", () -> ferry(pg, "initial", 0, false));
            contenders.put("Ferry chunked, unthrottled", () -> ferry(pg, "chunked", 0, false));
            contenders.put("Ferry chunked, adaptive (default)", () -> ferry(pg, "chunked", 0, true));
            int limit = throttle;
            contenders.put("Ferry chunked, " + String.format(Locale.ROOT, "%,d", throttle) + " rows/s",
                    () -> ferry(pg, "chunked", limit, false));
            // the batch source, type: jdbc, mode: full: not streaming, so its baseline is the workload alone
            contenders.put("JDBC source: full", () -> jdbc(pg, 0));
            contenders.put("JDBC source: full, " + String.format(Locale.ROOT, "%,d", throttle) + " rows/s",
                    () -> jdbc(pg, limit));
            for (Map.Entry<String, Job> c : contenders.entrySet()) {
                String key = c.getKey().toLowerCase(Locale.ROOT);
                if ((only == null || key.contains(only)) && (except == null || !key.contains(except))) {
                    results.add(measure(pg, c.getKey(), rows, c.getValue(), solo));
                }
            }

            Result copy = results.get(0);
            StringBuilder table = new StringBuilder();
            table.append(String.format(Locale.ROOT, "%-34s %8s %8s %12s %8s %9s %13s %12s %9s %10s %15s%n", "contender",
                    "seconds", "other s", "rows/s", "MB/s", "÷ COPY", "CPU s/M c+s", "loaded r/s", "÷ COPY", "TPS ÷ base",
                    "p99 ms (base)"));
            for (Result r : results) {
                table.append(String.format(Locale.ROOT, "%-34s %8.1f %8.1f %,12.0f %8.1f %9.2f %6.2f+%-6.2f %,12.0f %9.2f %10.2f "
                                + "%7.2f (%.2f)%n",
                        r.name(), r.readSeconds(), r.setUpSeconds(), r.rowsPerSecond(), copyBytes / 1e6 / r.readSeconds(),
                        r.rowsPerSecond() / copy.rowsPerSecond(), r.clientCpu() / (rows / 1e6),
                        r.serverCpu() / (rows / 1e6), r.loadedRowsPerSecond(),
                        r.loadedRowsPerSecond() / copy.loadedRowsPerSecond(), r.tps() / r.soloTps(), r.p99Millis(),
                        r.soloP99Millis()));
            }
            System.out.print(table);
            if (docs != null) {
                appendToDocs(docs, rows, copyBytes, results, copy);
            }
        }
    }

    private interface Job {
        void run() throws Exception;
    }

    /**
     * Runs the contender once to warm the JVM up (its code compiled, as in a long snapshot; not
     * measured), then alone (its throughput), then beside the write workload (what it costs it).
     */
    private static Result measure(TestingPostgres pg, String name, long rows, Job job, int soloSeconds)
            throws Exception {
        for (int i = 0; i < warmups; i++) {
            job.run();
        }
        // the warm-up's backends exit and are reaped first: their CPU must not land in the measured run's
        Thread.sleep(300);
        ServerCpu server = new ServerCpu(pg.dataDir());
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        double serverBefore = server.seconds();
        long clientBefore = os.getProcessCpuTime();
        long start = System.nanoTime();
        job.run();
        long end = System.nanoTime();
        double alone = (end - start) / 1e9;
        double aloneReading = reading(start, end);
        double clientCpu = (os.getProcessCpuTime() - clientBefore) / 1e9;
        Thread.sleep(300); // backends of closed connections exit and are reaped: their CPU moves to the postmaster's
        double serverCpu = server.seconds() - serverBefore;
        // the workload's baseline right before, as the machine is now (its ratio is not thrown by
        // drift): alone for the others, beside Ferry streaming without a snapshot for Ferry's, so
        // that the ratio is the snapshot's cost, not the cost of streaming on the same two cores
        long[][] solo = new long[1][];
        if (name.startsWith("Ferry")) {
            ferry(pg, "never", 0, false, () -> solo[0] = workload(pg, () -> sleep(soloSeconds * 1000L)));
        } else {
            solo[0] = workload(pg, () -> sleep(soloSeconds * 1000L));
        }
        double[] seconds = new double[2];
        long[] latencies = workload(pg, () -> {
            long loaded = System.nanoTime();
            job.run();
            long loadedEnd = System.nanoTime();
            seconds[0] = (loadedEnd - loaded) / 1e9;
            seconds[1] = reading(loaded, loadedEnd);
        });
        Result r = new Result(name, alone, aloneReading, seconds[0], seconds[1], rows, latencies.length, latencies,
                solo[0].length / (double) soloSeconds, percentile(solo[0], 0.99) / 1000.0, clientCpu, serverCpu);
        System.out.printf(Locale.ROOT, "%s: alone %.1f s (%.1f s of it before the source started or connected, and "
                + "after the run), %,.0f rows/s, CPU s per million rows: %.2f client + %.2f "
                + "server; beside the workload %,.0f rows/s (%.1f s before and after), workload %,.0f TPS (baseline just before: %,.0f), p99 %.2f "
                + "ms (%.2f)%n", name, r.seconds(), r.setUpSeconds(), r.rowsPerSecond(), clientCpu / (rows / 1e6), serverCpu / (rows / 1e6),
                r.loadedRowsPerSecond(), r.loadedSeconds() - r.loadedReadSeconds(), r.tps(), r.soloTps(), r.p99Millis(), r.soloP99Millis());
        return r;
    }

    /**
     * The seconds of a run from {@code start} to {@code end} that read rows: for Ferry's pipelines,
     * from their source's start (after the connections and, for PostgreSQL, the slot and the
     * publication: once per pipeline, not per row) to the end of the run (before the benchmark drops the
     * slot and deletes the Log); for COPY and SELECT, from their connection's opening to the end.
     */
    private static double reading(long start, long end) {
        long from = StartTimedSource.lastStarted > start ? StartTimedSource.lastStarted : start;
        long to = runEnded > from && runEnded <= end ? runEnded : end;
        return (to - from) / 1e9;
    }

    /** {@link System#nanoTime} when the last of Ferry's pipelines here ended its run and closed. */
    private static volatile long runEnded;

    /** Loads the table to read and the accounts the write workload updates; returns the COPY text size. */
    private static long load(TestingPostgres pg, int rows) throws Exception {
        pg.createDatabase(DB);
        pg.execute(DB, "CREATE TABLE items (id bigint PRIMARY KEY, customer int NOT NULL, amount numeric(12,2), "
                        + "status text, note text, created_at timestamptz, attrs jsonb)",
                "INSERT INTO items SELECT g, g % 5000, (g % 100000) / 100.0, (ARRAY['new','paid','shipped'])[1 + g % 3], "
                        + "md5(g::text) || md5((g * 7)::text), timestamptz '2026-01-01' + g * interval '1 second', "
                        + "jsonb_build_object('k', g % 17, 'tag', 'x' || g % 9) FROM generate_series(1, " + rows + ") g",
                "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)",
                "INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 100000) g",
                "CREATE TABLE history (id bigserial PRIMARY KEY, account int, delta int, at timestamptz DEFAULT now())",
                "VACUUM ANALYZE");
        CountingStream out = new CountingStream();
        try (Connection c = pg.connect(DB)) {
            c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY items TO STDOUT", out);
        }
        return out.bytes;
    }

    private static void copy(TestingPostgres pg) throws Exception {
        try (Connection c = pg.connect(DB)) {
            StartTimedSource.lastStarted = System.nanoTime(); // timed from connected, as Ferry's from its source's start
            c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY items TO STDOUT", OutputStream.nullOutputStream());
        }
    }

    private static void selectAll(TestingPostgres pg) throws Exception {
        try (Connection c = pg.connect(DB)) {
            StartTimedSource.lastStarted = System.nanoTime(); // timed from connected, as Ferry's from its source's start
            c.setAutoCommit(false); // a server-side cursor needs a transaction
            try (Statement s = c.createStatement()) {
                s.setFetchSize(10_000);
                try (ResultSet rs = s.executeQuery("SELECT * FROM items")) {
                    int n = rs.getMetaData().getColumnCount();
                    long sink = 0;
                    while (rs.next()) {
                        for (int i = 1; i <= n; i++) {
                            String v = rs.getString(i);
                            sink += v == null ? 0 : v.length();
                        }
                    }
                    if (sink < 0) {
                        throw new IllegalStateException();
                    }
                }
            }
            c.commit();
        }
    }

    /** A batch run of a fresh pipeline with the snapshot mode, into a sink that discards; then its slot is dropped. */
    private static void ferry(TestingPostgres pg, String mode, int maxRowsPerSecond, boolean adaptive) throws Exception {
        ferry(pg, mode, maxRowsPerSecond, adaptive, null);
    }

    /**
     * A run of a fresh pipeline into a sink that discards, then its slot dropped: a batch run, or with
     * {@code whileStreaming} a streaming run that lasts while that runs (from 2 s after the start).
     */
    private static void ferry(TestingPostgres pg, String mode, int maxRowsPerSecond, boolean adaptive, Job whileStreaming)
            throws Exception {
        String name = "bench_" + mode + "_" + maxRowsPerSecond + "_" + System.nanoTime();
        PostgresSourceFactory factory = new PostgresSourceFactory();
        String yaml = "type: postgres\nport: " + pg.port() + "\ndatabase: " + DB + "\nuser: " + pg.user()
                + "\npassword: '" + pg.password() + "'\ntables: [public.items]\nsnapshot: " + mode
                + "\nsnapshot_max_rows_per_second: " + maxRowsPerSecond + "\nsnapshot_adaptive: " + adaptive
                + "\nnew_tables_check_seconds: 0\n" + sourceSettings;
        Path state = Files.createTempDirectory("ferry-snapshot-bench-");
        try (Source source = new StartTimedSource(factory.create(name, ComponentConfig.ofYaml("source", yaml)));
             FileLog log = FileLog.open(state.resolve("log"), factory.positionCodec())) {
            source.workFolder(state.resolve("work"));
            Pipeline pipeline = new Pipeline(name, source, log, List.of(new NullSink()), List.of("null"), 1000);
            if (whileStreaming == null) {
                pipeline.run(Mode.ONCE);
            } else {
                Exception[] failed = new Exception[1];
                Thread streaming = new Thread(() -> {
                    try {
                        pipeline.run(Mode.STREAM);
                    } catch (Exception e) {
                        failed[0] = e;
                    }
                }, "bench-streaming");
                streaming.start();
                Thread.sleep(2_000);
                try {
                    whileStreaming.run();
                } finally {
                    pipeline.stop();
                    streaming.join();
                }
                if (failed[0] != null) {
                    throw failed[0];
                }
            }
        }
        runEnded = System.nanoTime();
        try {
            // the slot is released when the closed source's walsender ends: a moment after close
            for (int attempt = 0; ; attempt++) {
                try (Source source = factory.create(name, ComponentConfig.ofYaml("source", yaml))) {
                    source.drop();
                    break;
                } catch (dev.ferry.error.FerryException e) {
                    if (attempt == 50) {
                        throw e;
                    }
                    Thread.sleep(100);
                }
            }
        } finally {
            try (var walk = Files.walk(state)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** One batch run of a fresh {@code type: jdbc} pipeline copying the table whole, into a sink that discards. */
    private static void jdbc(TestingPostgres pg, int maxRowsPerSecond) throws Exception {
        JdbcSourceFactory factory = new JdbcSourceFactory();
        String yaml = "type: jdbc\nurl: " + pg.jdbcUrl(DB) + "\nuser: " + pg.user() + "\npassword: '" + pg.password()
                + "'\ntables: [public.items]\nmax_rows_per_second: " + maxRowsPerSecond + "\n" + sourceSettings;
        Path state = Files.createTempDirectory("ferry-jdbc-bench-");
        try (Source source = new StartTimedSource(factory.create("bench_jdbc", ComponentConfig.ofYaml("source", yaml)));
             FileLog log = FileLog.open(state.resolve("log"), factory.positionCodec())) {
            source.workFolder(state.resolve("work"));
            new Pipeline("bench_jdbc", source, log, List.of(new NullSink()), List.of("null"), 1000).run(Mode.ONCE);
        } finally {
            runEnded = System.nanoTime();
            try (var walk = Files.walk(state)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /**
     * Runs the pgbench-style write workload (two clients; each transaction updates an account and
     * inserts a history row) while {@code during} runs; returns each transaction's latency in µs.
     */
    private static long[] workload(TestingPostgres pg, Job during) throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        List<long[]> perClient = new ArrayList<>();
        List<Thread> clients = new ArrayList<>();
        AtomicLong failures = new AtomicLong();
        for (int t = 0; t < 2; t++) {
            long[][] mine = {new long[1 << 16]};
            int[] count = {0};
            Thread client = new Thread(() -> {
                try (Connection c = pg.connect(DB);
                     PreparedStatement update = c.prepareStatement("UPDATE accounts SET balance = balance + ? WHERE id = ?");
                     PreparedStatement insert = c.prepareStatement("INSERT INTO history (account, delta) VALUES (?, ?)")) {
                    c.setAutoCommit(false);
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    while (running.get()) {
                        int account = 1 + random.nextInt(100_000);
                        int delta = random.nextInt(-5000, 5000);
                        long start = System.nanoTime();
                        update.setInt(1, delta);
                        update.setInt(2, account);
                        update.executeUpdate();
                        insert.setInt(1, account);
                        insert.setInt(2, delta);
                        insert.executeUpdate();
                        c.commit();
                        if (count[0] == mine[0].length) {
                            mine[0] = Arrays.copyOf(mine[0], mine[0].length * 2);
                        }
                        mine[0][count[0]++] = (System.nanoTime() - start) / 1000;
                    }
                } catch (SQLException e) {
                    failures.incrementAndGet();
                    e.printStackTrace();
                }
                synchronized (perClient) {
                    perClient.add(Arrays.copyOf(mine[0], count[0]));
                }
            }, "write-client-" + t);
            clients.add(client);
            client.start();
        }
        try {
            during.run();
        } finally {
            running.set(false);
            for (Thread c : clients) {
                c.join();
            }
        }
        if (failures.get() > 0) {
            throw new IllegalStateException("the write workload failed");
        }
        return perClient.stream().flatMapToLong(Arrays::stream).toArray();
    }

    private static double percentile(long[] values, double p) {
        if (values.length == 0) {
            return 0;
        }
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    }

    private static void appendToDocs(Path docs, int rows, long copyBytes, List<Result> results, Result copy)
            throws IOException {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%n### Snapshot benchmark, %s: %,d rows (%,.0f MB as COPY text)%n%n"
                + "Seconds and rows/s from each Ferry pipeline's source's start (connections, slot and publication "
                + "made) to the end of its run; the set-up before and the benchmark's clean-up after in their own column. "
                + "Workload TPS and p99 against its baseline right before each contender: alone for COPY and SELECT, "
                + "beside Ferry streaming (no snapshot) for Ferry's.%n%n",
                LocalDate.now(), rows, copyBytes / 1e6));
        b.append("| contender | seconds | set-up and clean-up s | rows/s | MB/s | ÷ COPY | CPU s per M rows: client + server "
                + "| beside the workload: rows/s | ÷ COPY | workload TPS ÷ baseline | workload p99 ms (baseline) |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Result r : results) {
            b.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %,.0f | %.1f | %.2f | %.2f + %.2f | %,.0f | %.2f | %.2f "
                            + "| %.2f (%.2f) |%n",
                    r.name(), r.readSeconds(), r.setUpSeconds(), r.rowsPerSecond(), copyBytes / 1e6 / r.readSeconds(),
                    r.rowsPerSecond() / copy.rowsPerSecond(), r.clientCpu() / rows * 1e6, r.serverCpu() / rows * 1e6,
                    r.loadedRowsPerSecond(),
                    r.loadedRowsPerSecond() / copy.loadedRowsPerSecond(), r.tps() / r.soloTps(), r.p99Millis(),
                    r.soloP99Millis()));
        }
        Files.writeString(docs, b.toString(), java.nio.file.StandardOpenOption.APPEND);
    }

    private static void sleep(long millis) throws InterruptedException {
        Thread.sleep(millis);
    }

    /** An output stream that only counts. */
    private static final class CountingStream extends OutputStream {
        long bytes;

        @Override
        public void write(int b) {
            bytes++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            bytes += len;
        }
    }
}
