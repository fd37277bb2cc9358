package dev.ferry.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.ferry.config.ComponentConfig;
import dev.ferry.log.FileLog;
import dev.ferry.log.LogSettings;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.postgres.PostgresSourceFactory;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkSettings;
import dev.ferry.sink.files.JsonlSinkFactory;
import dev.ferry.source.Source;
import dev.ferry.source.SourceInfo;
import dev.ferry.testkit.TestingPostgres;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The CDC catch-up benchmark: a backlog of changes waits in the WAL, and each contender drains it
 * from its own slot, created at the same point with the same options (pgoutput, protocol 2,
 * streaming of large transactions, logical messages), in one run:
 * <ul>
 *   <li>the ceiling: {@code pg_recvlogical} writing the raw pgoutput stream to /dev/null, which is
 *       what one walsender can send when nothing is done with it;</li>
 *   <li>Ferry into a sink that discards (capture, conversion and the durable Log, no destination);</li>
 *   <li>Ferry into the JSONL sink (the envelope written to files as well);</li>
 *   <li>Debezium's embedded engine (3.6, PostgreSQL connector, pgoutput) into a JSONL file, in a child
 *       JVM of its own ({@link DebeziumContender}); its slot and publication are made at the same
 *       point, but Debezium asks for its own options (protocol 1: no streaming of large transactions);</li>
 *   <li>a bare pgjdbc client that reads the stream and discards it.</li>
 * </ul>
 * The backlog, on a shop-like schema (a wide row with numeric, text, timestamptz and jsonb; a narrow
 * one): 30% inserts in transactions of 10 rows, 20% inserts in one large transaction, 30% updates in
 * transactions of 100, 20% deletes in transactions of 1,000. A first, smaller backlog (a fifth) is
 * drained by every contender before, unmeasured, so that Ferry's and Debezium's code is compiled as in
 * a long run. Printed: seconds, changes/s, the ratio to the fastest bare client, CPU seconds per million
 * changes (Ferry's in this process, Debezium's in its own), peak RSS where it is separable (the bare
 * clients' processes, Debezium's; Ferry runs inside this JVM), and Ferry into JSONL ÷ Debezium.
 *
 * <p>Usage: {@code CdcBench [--changes N] [--docs FILE] [--debezium-jar JAR] [--rotate 0|1|2]}; see run-cdc-bench.sh.
 * {@code --rotate} picks which of Ferry null, Ferry JSONL and Debezium drains first (by default the
 * wall-clock minute's); the order is printed and recorded.
 */
public final class CdcBench {
    private static final String DB = "shop";
    /** The ceiling's two slots: drained before Ferry and after it, as the machine drifts. */
    private static final List<String> CEILING_SLOTS = List.of("ceiling_before", "ceiling_after");
    /** The slot a bare JDBC client drains, discarding each message: the walsender's own ceiling. */
    private static final String RAW_SLOT = "raw_jdbc";
    /** The most events one sink write carries under {@code ferry run} (RunCommand.MAX_BATCH_EVENTS). */
    static final int FERRY_RUN_BATCH_EVENTS = 8192;
    /** GNU time, which reports a child's peak RSS ({@code %M}, kB) on stderr after this prefix. */
    private static final String TIME = "/usr/bin/time";
    private static final String RSS_PREFIX = "ferry-bench-peak-rss-kb ";
    /** The backlog's tables, as Debezium's {@code table.include.list}. */
    static final String TABLES = "public.orders,public.ticks";
    /** The backlog's tables: a wide row (numeric, text, timestamptz, jsonb) and a narrow one. */
    static final String[] TABLES_DDL = {"CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, "
            + "amount numeric(12,2), status text, note text, created_at timestamptz, attrs jsonb)",
            "CREATE TABLE ticks (id bigint PRIMARY KEY, v int NOT NULL)"};

    /** One contender's run; {@code cpuSeconds} 0 for the bare clients, {@code peakRssKb} -1 where unknown. */
    record Result(String name, double seconds, long changes, double cpuSeconds, long peakRssKb) {
        double perSecond() {
            return changes / seconds;
        }

        /** The row's cells: contender, seconds, changes/s, ÷ ceiling, CPU s per M, peak RSS MB. */
        List<String> cells(Result ceiling) {
            return List.of(name, String.format(Locale.ROOT, "%.1f", seconds), String.format(Locale.ROOT, "%,.0f", perSecond()),
                    String.format(Locale.ROOT, "%.2f", perSecond() / ceiling.perSecond()),
                    cpuSeconds > 0 ? String.format(Locale.ROOT, "%.1f", cpuSeconds / (changes / 1e6)) : "-",
                    peakRssKb >= 0 ? String.format(Locale.ROOT, "%.0f", peakRssKb * 1024 / 1e6) : "-");
        }
    }

    private CdcBench() {
    }

    public static void main(String[] args) throws Exception {
        long changes = 1_000_000;
        // which of Ferry null, Ferry JSONL and Debezium drains first: the wall-clock minute's, unless given
        int rotate = (int) (System.currentTimeMillis() / 60_000 % 3);
        Path docs = null;
        Path debeziumJar = Path.of("ferry-bench-debezium/target/debezium-bench.jar");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--changes" -> changes = Long.parseLong(args[++i]);
                case "--docs" -> docs = Path.of(args[++i]);
                case "--debezium-jar" -> debeziumJar = Path.of(args[++i]);
                case "--rotate" -> rotate = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        // the mix's batches divide a multiple of 5,000 exactly (deletes go by 1,000 in a fifth)
        changes = Math.max(5000, changes / 5000 * 5000);
        Path work = Files.createTempDirectory("ferry-cdc-bench-");
        // no autovacuum: it would wake up after the backlog and take CPU from whichever contender runs first
        try (TestingPostgres pg = TestingPostgres.builder().setting("max_wal_size", "4GB")
                .setting("checkpoint_timeout", "30min").setting("autovacuum", "off").start();
             DebeziumContender debezium = new DebeziumContender(pg, DB, TABLES, debeziumJar, work.resolve("debezium"))) {
            pg.createDatabase(DB);
            pg.execute(DB, TABLES_DDL);
            pg.execute(DB, "CREATE PUBLICATION ceiling_pub FOR TABLE orders, ticks",
                    "CREATE PUBLICATION " + DebeziumContender.PUBLICATION + " FOR TABLE orders, ticks",
                    "SELECT pg_create_logical_replication_slot('" + CEILING_SLOTS.get(0) + "', 'pgoutput')",
                    "SELECT pg_create_logical_replication_slot('" + CEILING_SLOTS.get(1) + "', 'pgoutput')",
                    "SELECT pg_create_logical_replication_slot('" + RAW_SLOT + "', 'pgoutput')");
            Ferry toNull = new Ferry(pg, "bench_null", work, null);
            Ferry toJsonl = new Ferry(pg, "bench_jsonl", work, work.resolve("jsonl"));
            toNull.run(); // creates its slot and publication: the backlog below waits for it
            toJsonl.run();
            debezium.createSlot();

            long warm = Math.max(5000, changes / 5 / 5000 * 5000);
            backlog(pg, warm, 0);
            String warmEnd = currentLsn(pg);
            for (String slot : CEILING_SLOTS) {
                ceiling(pg, slot, warmEnd);
            }
            rawRead(pg);
            toNull.run();
            toJsonl.run();
            debezium.drain("Debezium warm-up", warm);

            long generateStart = System.nanoTime();
            backlog(pg, changes, warm);
            String end = currentLsn(pg);
            pg.execute(DB, "CHECKPOINT"); // not during the first contender's run
            long walBytes = walBytes(pg, warmEnd, end);
            System.out.printf(Locale.ROOT, "PostgreSQL %s: a backlog of %,d changes (%,.0f MB of WAL) written in %.1f s%n",
                    pg.serverVersionNum(), changes, walBytes / 1e6, (System.nanoTime() - generateStart) / 1e9);

            // the three between the two ceilings run in a rotated order, so that no one always drains first
            // (with the freshest page cache and the CHECKPOINT just done) or last; the table keeps one order
            List<String> order = new ArrayList<>(List.of("Ferry into a null sink", "Ferry into JSONL files",
                    "Debezium embedded into JSONL"));
            java.util.Collections.rotate(order, -Math.floorMod(rotate, 3));
            System.out.println("run order: pg_recvlogical, " + String.join(", ", order) + ", pg_recvlogical, pgjdbc");
            java.util.Map<String, Result> middle = new java.util.HashMap<>();
            Result before = ceiling(pg, CEILING_SLOTS.get(0), end, "pg_recvlogical to /dev/null, before", changes);
            for (String contender : order) {
                middle.put(contender, switch (contender) {
                    case "Ferry into a null sink" -> toNull.measure(contender, changes);
                    case "Ferry into JSONL files" -> toJsonl.measure(contender, changes);
                    default -> debezium.drain(contender, changes);
                });
            }
            Result ferryJsonl = middle.get("Ferry into JSONL files");
            Result debeziumJsonl = middle.get("Debezium embedded into JSONL");
            List<Result> results = new ArrayList<>();
            results.add(before);
            results.add(middle.get("Ferry into a null sink"));
            results.add(ferryJsonl);
            results.add(debeziumJsonl);
            results.add(ceiling(pg, CEILING_SLOTS.get(1), end, "pg_recvlogical to /dev/null, after", changes));
            long rawStart = System.nanoTime();
            rawRead(pg);
            Result raw = new Result("pgjdbc replication stream, discarded", (System.nanoTime() - rawStart) / 1e9, changes, 0, -1);
            results.add(raw);
            System.out.printf(Locale.ROOT, "%s: %.1f s%n", raw.name(), raw.seconds());
            Result ceiling = ceiling(results);
            StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%-40s %8s %12s %10s %14s %14s%n",
                    "contender", "seconds", "changes/s", "÷ ceiling", "CPU s per M", "peak RSS MB"));
            for (Result r : results) {
                table.append(String.format(Locale.ROOT, "%-40s %8s %12s %10s %14s %14s%n", r.cells(ceiling).toArray()));
            }
            String ratio = String.format(Locale.ROOT, "Ferry into JSONL ÷ Debezium into JSONL: %.2f (target ≥ 2.5)",
                    ferryJsonl.perSecond() / debeziumJsonl.perSecond());
            System.out.print(table);
            System.out.println(ratio);
            if (docs != null) {
                appendToDocs(docs, changes, walBytes, results, ratio + "\n\nRun order: pg_recvlogical, " + String.join(", ", order)
                        + ", pg_recvlogical, pgjdbc.");
            }
        } finally {
            try (Stream<Path> walk = Files.walk(work)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /**
     * One Ferry pipeline streaming {@code orders} and {@code ticks} (no snapshot) into a null sink or
     * JSONL files; each run is a batch run ({@code --once}) from where the last one stopped.
     */
    private static final class Ferry {
        private final TestingPostgres pg;
        private final String name;
        private final Path state;
        private final Path jsonl;
        /** Kept from run to run, as a real sink keeps its offset: a run delivers what came since the last. */
        private final NullSink discard = new NullSink();
        private long lastEvents;

        Ferry(TestingPostgres pg, String name, Path work, Path jsonl) {
            this.pg = pg;
            this.name = name;
            this.state = work.resolve(name);
            this.jsonl = jsonl;
        }

        void run() throws Exception {
            PostgresSourceFactory factory = new PostgresSourceFactory();
            String yaml = "type: postgres\nport: " + pg.port() + "\ndatabase: " + DB + "\nuser: " + pg.user()
                    + "\npassword: '" + pg.password() + "'\ntables: [public.orders, public.ticks]\nsnapshot: never\n"
                    + "new_tables_check_seconds: 0\n";
            long before = discard.events();
            JsonlSinkFactory jsonlType = new JsonlSinkFactory();
            ComponentConfig jsonlConfig = ComponentConfig.ofYaml("sink", "type: jsonl\npath: '" + jsonl + "'\n");
            // the Log and the sinks as ferry run sets them up by default (the Log's interval follows the sink's)
            SinkSettings sinkSettings = jsonl == null ? new SinkSettings(0) : SinkSettings.read(jsonlConfig, jsonlType);
            try (Source source = factory.create(name, ComponentConfig.ofYaml("source", yaml));
                 FileLog log = FileLog.open(state.resolve("log"), factory.positionCodec(),
                         LogSettings.read(null, LogSettings.Interval.beside(sinkSettings.commitIntervalMillis())).options());
                 Sink sink = jsonl == null ? discard : jsonlType.create(name, jsonlConfig,
                         new SourceInfo("postgres", name, DB))) {
                source.workFolder(state.resolve("work"));
                Pipeline pipeline = new Pipeline(name, source, log, List.of(sink), List.of(jsonl == null ? "null" : "jsonl"),
                        FERRY_RUN_BATCH_EVENTS);
                pipeline.sinkSettings(List.of(sinkSettings));
                pipeline.run(Mode.ONCE);
            }
            lastEvents = discard.events() - before;
        }

        /** Lines in the JSONL sink's files: one per event. */
        private long jsonLines() throws IOException {
            if (!Files.exists(jsonl)) {
                return 0;
            }
            long n = 0;
            try (Stream<Path> files = Files.walk(jsonl)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".jsonl")).toList()) {
                    try (Stream<String> lines = Files.lines(f)) {
                        n += lines.count();
                    }
                }
            }
            return n;
        }

        Result measure(String label, long changes) throws Exception {
            OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long linesBefore = jsonl == null ? 0 : jsonLines();
            long cpu = os.getProcessCpuTime();
            long start = System.nanoTime();
            run();
            double seconds = (System.nanoTime() - start) / 1e9;
            long delivered = jsonl == null ? lastEvents : jsonLines() - linesBefore;
            if (delivered != changes) {
                throw new IllegalStateException(label + " delivered " + delivered + " events, not " + changes);
            }
            Result r = new Result(label, seconds, changes, (os.getProcessCpuTime() - cpu) / 1e9, -1);
            System.out.printf(Locale.ROOT, "%s: %.1f s, %,.0f changes/s, %.1f CPU s%n", label, seconds,
                    r.perSecond(), r.cpuSeconds());
            return r;
        }
    }

    /**
     * Writes {@code changes} changes (a multiple of 1,000) with ids after {@code base}: see the class
     * comment for the mix. Each loop commits inside a DO block, so the small transactions are real ones.
     * Ends with a logical message, the marker the bare JDBC reader stops at.
     */
    static void backlog(TestingPostgres pg, long changes, long base) {
        long inserts = changes * 3 / 10; // then updated, each once
        long large = changes / 5; // then deleted, each once
        String orderRow = "g, g % 5000, (g % 100000) / 100.0, (ARRAY['new','paid','shipped'])[1 + g % 3], "
                + "md5(g::text) || md5((g * 7)::text), timestamptz '2026-01-01' + g * interval '1 second', "
                + "jsonb_build_object('k', g % 17, 'tag', 'x' || g % 9)";
        pg.execute(DB,
                "DO $$ BEGIN FOR b IN 0.." + (inserts / 10 - 1) + " LOOP INSERT INTO orders SELECT " + orderRow
                        + " FROM generate_series(" + base + " + b * 10 + 1, " + base + " + b * 10 + 10) g; COMMIT; "
                        + "END LOOP; END $$",
                "INSERT INTO ticks SELECT g, g % 1000 FROM generate_series(" + (base + 1) + ", " + (base + large) + ") g",
                "DO $$ BEGIN FOR b IN 0.." + (inserts / 100 - 1) + " LOOP UPDATE orders SET status = 'refunded', "
                        + "amount = amount + 1, note = note || '!' WHERE id > " + base + " + b * 100 AND id <= " + base
                        + " + b * 100 + 100; COMMIT; END LOOP; END $$",
                "DO $$ BEGIN FOR b IN 0.." + (large / 1000 - 1) + " LOOP DELETE FROM ticks WHERE id > " + base
                        + " + b * 1000 AND id <= " + base + " + b * 1000 + 1000; COMMIT; END LOOP; END $$",
                "SELECT pg_logical_emit_message(false, 'ferry-bench', 'end of the backlog')");
    }

    /** The operations (c, u, d) a backlog of {@code changes} holds, by {@link #backlog}'s mix. */
    static Map<Character, Long> expectedOps(long changes) {
        long inserts = changes * 3 / 10;
        long large = changes / 5;
        return new TreeMap<>(Map.of('c', inserts + large, 'u', inserts, 'd', large));
    }

    /** The fastest of the bare clients (those without a CPU time: not Ferry). */
    private static Result ceiling(List<Result> results) {
        return results.stream().filter(r -> r.cpuSeconds() == 0).max(Comparator.comparingDouble(Result::perSecond))
                .orElseThrow();
    }

    private static Result ceiling(TestingPostgres pg, String slot, String endLsn, String label, long changes)
            throws Exception {
        long start = System.nanoTime();
        long peakRssKb = ceiling(pg, slot, endLsn);
        Result r = new Result(label, (System.nanoTime() - start) / 1e9, changes, 0, peakRssKb);
        System.out.printf(Locale.ROOT, "%s: %.1f s, %,.0f changes/s%n", label, r.seconds(), r.perSecond());
        return r;
    }

    /**
     * Drains a ceiling slot up to {@code endLsn} with pg_recvlogical, output to /dev/null, under
     * {@code /usr/bin/time} where there is one.
     *
     * @return pg_recvlogical's peak RSS in kB, -1 without {@code /usr/bin/time}
     */
    private static long ceiling(TestingPostgres pg, String slot, String endLsn) throws Exception {
        List<String> command = new ArrayList<>();
        boolean timed = Files.isExecutable(Path.of(TIME));
        if (timed) {
            command.addAll(List.of(TIME, "-f", RSS_PREFIX + "%M"));
        }
        command.addAll(List.of("pg_recvlogical", "-h", pg.host(), "-p", String.valueOf(pg.port()),
                "-U", pg.user(), "-d", DB, "--slot", slot, "--start", "--endpos", endLsn, "--no-loop",
                "-o", "proto_version=2", "-o", "streaming=on", "-o", "messages=true",
                "-o", "publication_names=ceiling_pub", "-f", "/dev/null"));
        ProcessBuilder b = new ProcessBuilder(command);
        b.environment().put("PGPASSWORD", pg.password());
        b.redirectErrorStream(true);
        Process p = b.start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("pg_recvlogical failed: " + output);
        }
        int at = output.lastIndexOf(RSS_PREFIX);
        return timed && at >= 0 ? Long.parseLong(output.substring(at + RSS_PREFIX.length()).trim()) : -1;
    }

    /**
     * Drains the raw slot up to {@code endLsn} with pgjdbc's replication API, looking at nothing but
     * each message's type: what the walsender sends when the client costs almost nothing. Ends at
     * the marker {@link #backlog} writes last.
     */
    private static void rawRead(TestingPostgres pg) throws Exception {
        java.util.Properties p = new java.util.Properties();
        org.postgresql.PGProperty.USER.set(p, pg.user());
        org.postgresql.PGProperty.PASSWORD.set(p, pg.password());
        org.postgresql.PGProperty.REPLICATION.set(p, "database");
        org.postgresql.PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "10");
        org.postgresql.PGProperty.PREFER_QUERY_MODE.set(p, "simple");
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/" + DB, p);
             org.postgresql.replication.PGReplicationStream stream = c.unwrap(org.postgresql.PGConnection.class)
                     .getReplicationAPI().replicationStream().logical().withSlotName(RAW_SLOT)
                     .withSlotOption("proto_version", "2").withSlotOption("publication_names", "ceiling_pub")
                     .withSlotOption("messages", "true").withSlotOption("streaming", "on")
                     .withStatusInterval(10, TimeUnit.SECONDS).start()) {
            while (true) {
                java.nio.ByteBuffer message = stream.read();
                if (message.get(message.position()) == 'M') {
                    break; // the backlog's end marker, the only logical message on the slot
                }
            }
            stream.setFlushedLSN(stream.getLastReceiveLSN());
            stream.setAppliedLSN(stream.getLastReceiveLSN());
            stream.forceUpdateStatus();
        }
    }

    static String currentLsn(TestingPostgres pg) throws Exception {
        try (Connection c = pg.connect(DB); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_current_wal_insert_lsn()")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static long walBytes(TestingPostgres pg, String from, String to) throws Exception {
        try (Connection c = pg.connect(DB); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_wal_lsn_diff('" + to + "', '" + from + "')::bigint")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void appendToDocs(Path docs, long changes, long walBytes, List<Result> results, String ratio)
            throws IOException {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%n### CDC catch-up, %s: %,d changes (%,.0f MB of WAL)%n%n"
                + "| contender | seconds | changes/s | ÷ ceiling | CPU s per million changes | peak RSS (MB) |%n"
                + "|---|---|---|---|---|---|%n", LocalDate.now(), changes, walBytes / 1e6));
        Result ceiling = ceiling(results);
        for (Result r : results) {
            b.append("| ").append(String.join(" | ", r.cells(ceiling))).append(" |\n");
        }
        b.append("\n").append(ratio).append("\n");
        Files.writeString(docs, b, StandardOpenOption.APPEND);
    }
}
