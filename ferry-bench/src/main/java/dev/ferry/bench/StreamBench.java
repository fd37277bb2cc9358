package dev.ferry.bench;

import dev.ferry.testkit.TestingPostgres;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The streaming benchmark: what Ferry costs a busy source, how quickly a change arrives, and how
 * much memory it takes, with Ferry in a process of its own ({@link StreamingFerry}: PostgreSQL into
 * JSONL files, the JVM options of the {@code ferry} launcher), warmed up by 20 s of changes first
 * (and, before a throughput turn, by 10 s of pgbench's, caught up before the turn starts).
 * <ul>
 *   <li><b>Latency</b>, the sink set for it ({@code commit_interval_ms: 10}): changes at fixed rates
 *       (1,000, 5,000 and 20,000 per second by default) into a shop table: a transaction every 5 ms
 *       with the rate's share of inserts, updates and deletes; for each change, the time from its
 *       commit to the JSONL sink's write returning (files and offset durable), p50/p99/max; beside them, so
 *       that a stall can be told apart, the Log's fsyncs in the window (count, mean, longest) and the longest
 *       time between two of the sink's writes with changes.</li>
 *   <li><b>Source write throughput</b>, Ferry with its defaults: pgbench's TPC-B-like script (4
 *       clients), alone, while {@code pg_recvlogical} streams the same tables to /dev/null (the least any
 *       logical-decoding client costs: the walsender's decoding) and while Ferry streams them, in turns
 *       (alone, beside pg_recvlogical, beside Ferry, twice), so that the machine's drift hits all alike. A
 *       fresh process and slot for each turn: it streams only what is written while it runs.</li>
 *   <li><b>Memory</b>: Ferry's peak RSS over all of it (VmHWM).</li>
 * </ul>
 *
 * <p>Usage: {@code StreamBench [--seconds N] [--rates 1000,5000,20000|none] [--sink YAML] [--tps-turns N] [--docs FILE]};
 * see run-stream-bench.sh.
 */
public final class StreamBench {
    private static final String DB = "shop";
    private static final String TABLES = "public.orders, public.pgbench_accounts, public.pgbench_tellers, "
            + "public.pgbench_branches, public.pgbench_history";
    private static final int TICK_MILLIS = 5;
    /** How long Ferry streams 5,000 changes/s before anything is measured: its JIT compilation done. */
    private static final int WARM_UP_SECONDS = 20;
    /** How long pgbench runs beside a fresh Ferry before its turn is measured. */
    private static final int PGBENCH_WARM_UP_SECONDS = 10;
    /** Turns of the source-throughput measurement (alone, beside pg_recvlogical, beside Ferry); {@code --tps-turns}. */
    private static int tpsTurns = 2;
    private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+) \\(without initial connection time\\)");

    /**
     * One window's latencies (µs) and what may explain its longest: the Log's fsyncs in the window (count,
     * mean and longest, µs), the longest time between two of the sink's writes with changes (µs), and
     * the p50 and p99 of the time to the sink's write being called (µs): the latency without the sink's own writing.
     */
    private record Latency(int rate, double achieved, long count, long p50, long p99, long max, double cpuPerMillion,
                           long fsyncs, double fsyncMean, long fsyncMax, long maxGap, long handedP50, long handedP99) {
        Latency achieved(double changesPerSecond) {
            return new Latency(rate, changesPerSecond, count, p50, p99, max, cpuPerMillion, fsyncs, fsyncMean, fsyncMax,
                    maxGap, handedP50, handedP99);
        }
    }

    private StreamBench() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = 30;
        List<Integer> rates = List.of(1000, 5000, 20000);
        Path docs = null;
        String sinkYaml = "commit_interval_ms: 10";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--rates" -> rates = java.util.Arrays.stream(args[++i].split(",")).map(String::trim)
                        .filter(r -> !r.isEmpty() && !r.equals("none")).map(Integer::valueOf).toList();
                case "--docs" -> docs = Path.of(args[++i]);
                case "--sink" -> sinkYaml = args[++i];
                case "--tps-turns" -> tpsTurns = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path work = Files.createTempDirectory("ferry-stream-bench-");
        // a production server's durability: the test default (synchronous_commit and fsync off) would have the
        // WAL writer flush commits every 200 ms, and walsenders send only what is flushed
        try (TestingPostgres pg = TestingPostgres.builder().setting("fsync", "on").setting("synchronous_commit", "on")
                .setting("full_page_writes", "on").setting("shared_buffers", "256MB").start()) {
            pg.createDatabase(DB);
            pg.execute(DB, "CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, amount numeric(12,2), "
                    + "status text, note text, created_at timestamptz, attrs jsonb)");
            pgbench(pg, "-i", "-q", "-s", "10", DB);
            // pgbench_history has no key; it is only ever inserted into, so the full row identifies it
            pg.execute(DB, "ALTER TABLE pgbench_history REPLICA IDENTITY FULL");

            // latency, with the sink set for it; Ferry as it runs for hours: warmed up (JIT) first
            List<Latency> latencies = new ArrayList<>();
            long peakRssKb = 0;
            if (!rates.isEmpty()) {
                try (Child ferry = Child.start(pg, "bench_latency", work, sinkYaml)) {
                    drive(pg, 5000, WARM_UP_SECONDS);
                    for (int rate : rates) {
                        drive(pg, rate, 5); // settle at this rate
                        ferry.command("reset");
                        String start = ferry.command("report");
                        String threads = ferry.command("threads");
                        double achieved = drive(pg, rate, seconds);
                        Latency l = latency(rate, achieved, start, ferry.command("report"));
                        System.out.println("Ferry's CPU by thread at " + rate + " changes/s (s): "
                                + threadSplit(threads, ferry.command("threads")));
                        print(rate + " changes/s", l);
                        latencies.add(l);
                    }
                    peakRssKb = Math.max(peakRssKb, Long.parseLong(ferry.command("report").split(" ")[6]));
                }
                pg.execute(DB, "SELECT pg_drop_replication_slot('ferry_bench_latency')");
            }

            // source write throughput, Ferry with its defaults: alone, beside the bare decoder, beside Ferry, twice
            double[] alone = new double[tpsTurns];
            double[] bare = new double[tpsTurns];
            double[] beside = new double[tpsTurns];
            Latency underLoad = null;
            pg.execute(DB, "CREATE PUBLICATION bare_pub FOR TABLE " + TABLES);
            for (int turn = 0; turn < tpsTurns; turn++) {
                settle(pg);
                alone[turn] = tps(pg, seconds);
                System.out.printf(Locale.ROOT, "pgbench alone: %,.0f tps%n", alone[turn]);
                settle(pg);
                bare[turn] = besideBareDecoder(pg, "bare_" + turn, seconds);
                System.out.printf(Locale.ROOT, "pgbench beside pg_recvlogical: %,.0f tps%n", bare[turn]);
                try (Child ferry = Child.start(pg, "bench_stream_" + turn, work, "")) {
                    drive(pg, 5000, WARM_UP_SECONDS);
                    // and pgbench's own changes (a keyless table, other types): without them the JIT still
                    // compiled 1.0-1.35 CPU s of Ferry's code in the measured 30 s, a cost of a fresh process
                    tps(pg, PGBENCH_WARM_UP_SECONDS);
                    settle(pg);
                    caughtUp(pg, "ferry_bench_stream_" + turn);
                    ferry.command("reset");
                    String before = ferry.command("report");
                    String threadsBefore = ferry.command("threads");
                    beside[turn] = tps(pg, seconds);
                    String after = ferry.command("report");
                    System.out.println("Ferry's CPU by thread while pgbench ran (s): "
                            + threadSplit(threadsBefore, ferry.command("threads")));
                    System.out.printf(Locale.ROOT, "pgbench beside Ferry: %,.0f tps%n", beside[turn]);
                    if (turn == 0) {
                        underLoad = latency(0, 0, before, after);
                        underLoad = underLoad.achieved(underLoad.count() / (double) seconds);
                        print("beside pgbench (sink defaults)", underLoad);
                    }
                    peakRssKb = Math.max(peakRssKb, Long.parseLong(ferry.command("report").split(" ")[6]));
                }
                pg.execute(DB, "SELECT pg_drop_replication_slot('ferry_bench_stream_" + turn + "')");
            }
            String summary = summary(alone, bare, beside, underLoad, latencies, peakRssKb, sinkYaml);
            System.out.print(summary);
            if (docs != null) {
                Files.writeString(docs, String.format(Locale.ROOT, "%n### Streaming, %s (PostgreSQL %s, %d s per phase)%n%n%s",
                        LocalDate.now(), pg.serverVersionNum() / 10000 + "." + pg.serverVersionNum() % 10000, seconds, summary), StandardOpenOption.APPEND);
            }
        } finally {
            Workload.delete(work);
        }
    }

    private static String summary(double[] alone, double[] bare, double[] beside, Latency underLoad,
                                  List<Latency> latencies, long peakRssKb, String sinkYaml) {
        double aloneSum = java.util.Arrays.stream(alone).sum();
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "| source write throughput (pgbench, 4 clients) | tps |%n|---|---|%n"));
        b.append(String.format(Locale.ROOT, "| alone | %s |%n", joined(alone)));
        b.append(String.format(Locale.ROOT, "| beside pg_recvlogical to /dev/null (the floor) | %s |%n", joined(bare)));
        b.append(String.format(Locale.ROOT, "| beside Ferry streaming (defaults) | %s |%n", joined(beside)));
        b.append(String.format(Locale.ROOT, "| pg_recvlogical ÷ alone (what any logical-decoding client costs) | %.3f |%n",
                java.util.Arrays.stream(bare).sum() / aloneSum));
        b.append(String.format(Locale.ROOT, "| **Ferry ÷ alone** (target ≥ 0.97) | **%.3f** |%n%n",
                java.util.Arrays.stream(beside).sum() / aloneSum));
        b.append(String.format(Locale.ROOT, "| commit to JSONL sink | changes/s | changes | p50 ms | p99 ms | max ms "
                + "| Ferry CPU s per M | Log fsyncs | fsync mean ms | fsync max ms | longest gap ms "
                + "| handed to the sink: p50 / p99 ms |%n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|%n"));
        List<Latency> all = new ArrayList<>();
        all.add(underLoad);
        all.addAll(latencies);
        for (Latency l : all) {
            b.append(String.format(Locale.ROOT, "| %s | %,.0f | %,d | %.1f | %.1f | %.1f | %.1f | %,d | %.2f | %.1f | %.1f "
                            + "| %.1f / %.1f |%n",
                    l.rate() == 0 ? "beside pgbench (defaults: jsonl commits every 1 s)"
                            : String.format(Locale.ROOT, "%,d per second (%s)", l.rate(), sinkYaml),
                    l.achieved(), l.count(), l.p50() / 1000.0, l.p99() / 1000.0, l.max() / 1000.0, l.cpuPerMillion(),
                    l.fsyncs(), l.fsyncMean() / 1000.0, l.fsyncMax() / 1000.0, l.maxGap() / 1000.0,
                    l.handedP50() / 1000.0, l.handedP99() / 1000.0));
        }
        b.append(String.format(Locale.ROOT, "%nFerry's peak RSS: %.0f MB (target ≤ 256 MB); p99 at 5,000 changes/s "
                + "target ≤ 25 ms%n", peakRssKb / 1024.0));
        return b.toString();
    }

    private static String joined(double[] tps) {
        return java.util.Arrays.stream(tps).mapToObj(t -> String.format(Locale.ROOT, "%,.0f", t))
                .collect(java.util.stream.Collectors.joining(" and "));
    }

    private static void print(String label, Latency l) {
        System.out.printf(Locale.ROOT, "latency %s: %,d changes (%,.0f/s), p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
                + "the Log's fsyncs: %,d, mean %.2f ms, max %.1f ms; longest gap between the sink's writes %.1f ms; "
                + "handed to the sink: p50 %.1f ms, p99 %.1f ms%n",
                label, l.count(), l.achieved(), l.p50() / 1000.0, l.p99() / 1000.0, l.max() / 1000.0, l.fsyncs(),
                l.fsyncMean() / 1000.0, l.fsyncMax() / 1000.0, l.maxGap() / 1000.0, l.handedP50() / 1000.0,
                l.handedP99() / 1000.0);
    }

    /** CPU seconds per thread group between two {@code threads} answers, largest first. */
    private static String threadSplit(String before, String after) {
        java.util.Map<String, Long> start = ticks(before);
        java.util.Map<String, Long> end = ticks(after);
        return end.entrySet().stream().map(e -> java.util.Map.entry(e.getKey(), e.getValue() - start.getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() > 0).sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed())
                .map(e -> String.format(Locale.ROOT, "%s %.2f", e.getKey(), e.getValue() / 100.0))
                .collect(java.util.stream.Collectors.joining(", "));
    }

    private static java.util.Map<String, Long> ticks(String answer) {
        java.util.Map<String, Long> m = new java.util.HashMap<>();
        for (String part : answer.substring("threads ".length()).split(";")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                m.put(part.substring(0, eq), Long.parseLong(part.substring(eq + 1)));
            }
        }
        return m;
    }

    /**
     * A latency row from two reports of the child: at the start of the window (just after its reset) and at
     * its end. The fsyncs and the gap are those since the reset.
     */
    private static Latency latency(int rate, double achieved, String start, String end) {
        String[] s = start.split(" ");
        String[] e = end.split(" ");
        long count = Long.parseLong(e[1]);
        double cpu = Double.parseDouble(e[5]) - Double.parseDouble(s[5]);
        long fsyncs = Long.parseLong(e[8]);
        return new Latency(rate, achieved, count, Long.parseLong(e[2]), Long.parseLong(e[3]), Long.parseLong(e[4]),
                count == 0 ? 0 : cpu / (count / 1e6), fsyncs, fsyncs == 0 ? 0 : Long.parseLong(e[9]) / (double) fsyncs,
                Long.parseLong(e[10]), Long.parseLong(e[11]), Long.parseLong(e[12]), Long.parseLong(e[13]));
    }

    /**
     * Writes {@code rate} changes per second into {@code orders} for {@code seconds}: a transaction
     * every {@value #TICK_MILLIS} ms, in turns an insert of new rows, an update, an insert and a
     * delete of the oldest rows, each of the rate's share of rows. Late ticks are caught up without
     * sleeping.
     *
     * @return the rate achieved, changes per second
     */
    private static double drive(TestingPostgres pg, int rate, int seconds) throws Exception {
        int perTick = Math.max(1, rate * TICK_MILLIS / 1000);
        try (Connection c = pg.connect(DB); Statement s = c.createStatement()) {
            long next;
            long oldest;
            try (ResultSet rs = s.executeQuery("SELECT coalesce(max(id), 0) + 1, coalesce(min(id), 1) FROM orders")) {
                rs.next();
                next = rs.getLong(1);
                oldest = rs.getLong(2);
            }
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO orders SELECT g, g % 5000, (g % 100000) / 100.0, "
                         + "'new', md5(g::text), now(), jsonb_build_object('k', g % 17) FROM generate_series(?, ?) g");
                 PreparedStatement update = c.prepareStatement("UPDATE orders SET status = 'paid', amount = amount + 1 "
                         + "WHERE id >= ? AND id < ?");
                 PreparedStatement delete = c.prepareStatement("DELETE FROM orders WHERE id >= ? AND id < ?")) {
                long ticks = seconds * 1000L / TICK_MILLIS;
                long start = System.nanoTime();
                for (long t = 0; t < ticks; t++) {
                    long due = start + t * TICK_MILLIS * 1_000_000L;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    switch ((int) (t % 4)) {
                        case 0, 2 -> {
                            insert.setLong(1, next);
                            insert.setLong(2, next + perTick - 1);
                            insert.executeUpdate();
                            next += perTick;
                        }
                        case 1 -> range(update, oldest, perTick);
                        default -> {
                            range(delete, oldest, perTick);
                            oldest += perTick;
                        }
                    }
                }
                return ticks * perTick / ((System.nanoTime() - start) / 1e9);
            }
        }
    }

    private static void range(PreparedStatement statement, long from, int rows) throws Exception {
        statement.setLong(1, from);
        statement.setLong(2, from + rows);
        if (statement.executeUpdate() != rows) {
            throw new IllegalStateException("the workload lost track of its rows at id " + from);
        }
    }

    /**
     * pgbench's TPS while {@code pg_recvlogical} streams the same tables through pgoutput (protocol 2,
     * in-progress transactions streamed, as Ferry asks) to /dev/null from a fresh slot: the walsender's
     * decoding and a client that does nothing with it, the least that streaming costs the source.
     */
    private static double besideBareDecoder(TestingPostgres pg, String slot, int seconds) throws Exception {
        pg.execute(DB, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        ProcessBuilder b = new ProcessBuilder("pg_recvlogical", "-h", pg.host(), "-p", String.valueOf(pg.port()),
                "-U", pg.user(), "-d", DB, "--slot", slot, "--start", "--no-loop", "-o", "proto_version=2",
                "-o", "streaming=on", "-o", "publication_names=bare_pub", "-f", "/dev/null")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        b.environment().put("PGPASSWORD", pg.password());
        Process p = b.start();
        try {
            Thread.sleep(1000); // connected and streaming
            if (!p.isAlive()) {
                throw new IllegalStateException("pg_recvlogical exited with " + p.exitValue());
            }
            return tps(pg, seconds);
        } finally {
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
            pg.execute(DB, "SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }

    /**
     * Puts the source in the same state before each throughput turn: the turn beside Ferry follows
     * Ferry's warm-up (20 s of changes to {@code orders}), and the autovacuum or checkpoint those set
     * off ran during that turn only. Vacuumed, analyzed and checkpointed, each turn starts alike (the
     * pages' first changes after the checkpoint write their full images in every turn).
     */
    private static void settle(TestingPostgres pg) throws Exception {
        pg.execute(DB, "VACUUM ANALYZE orders, pgbench_accounts, pgbench_tellers, pgbench_branches, pgbench_history",
                "CHECKPOINT");
    }

    /** Waits (at most 60 s) until the slot has confirmed all but the last megabyte of WAL: Ferry has caught up. */
    private static void caughtUp(TestingPostgres pg, String slot) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        try (Connection c = pg.connect(DB); PreparedStatement ps = c.prepareStatement(
                "SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, slot);
            while (System.nanoTime() - deadline < 0) {
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && rs.getLong(1) < 1 << 20) {
                        return;
                    }
                }
                Thread.sleep(200);
            }
        }
        throw new IllegalStateException("Ferry did not catch up with pgbench's warm-up within 60 s");
    }

    private static double tps(TestingPostgres pg, int seconds) throws Exception {
        String out = pgbench(pg, "-n", "-c", "4", "-j", "2", "-T", String.valueOf(seconds), DB);
        Matcher m = TPS.matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no tps in pgbench's output: " + out);
        }
        return Double.parseDouble(m.group(1));
    }

    private static String pgbench(TestingPostgres pg, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("pgbench", "-h", pg.host(), "-p", String.valueOf(pg.port()),
                "-U", pg.user()));
        command.addAll(List.of(args));
        ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true);
        b.environment().put("PGPASSWORD", pg.password());
        Process p = b.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("pgbench failed: " + output);
        }
        return output;
    }

    /** {@link StreamingFerry} in a child JVM, driven by commands on its stdin. */
    private static final class Child implements AutoCloseable {
        private static final java.util.Map<String, String> ANSWERS = java.util.Map.of("reset", "ok", "report",
                "report ", "threads", "threads ", "stop", "stopped");
        private final Process process;
        private final PrintWriter in;
        private final BufferedReader out;
        private final Path stderr;

        private Child(Process process, Path stderr) {
            this.process = process;
            this.stderr = stderr;
            this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        static Child start(TestingPostgres pg, String name, Path work, String sinkYaml) throws Exception {
            String java = ProcessHandle.current().info().command().orElse("java");
            String jar = Path.of(StreamBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
            List<String> command = new ArrayList<>(List.of(java));
            // as the ferry launcher passes them: its defaults, then FERRY_JAVA_OPTS
            Path defaults = Path.of("ferry-cli/jvm.options");
            if (Files.exists(defaults)) {
                Files.readAllLines(defaults).stream().map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#"))
                        .forEach(command::add);
            }
            String opts = System.getenv("FERRY_JAVA_OPTS");
            if (opts != null && !opts.isBlank()) {
                command.addAll(List.of(opts.trim().split("\\s+")));
            }
            command.addAll(List.of("-cp", jar, StreamingFerry.class.getName(), name, String.valueOf(pg.port()), DB,
                    pg.user(), TABLES, work.resolve(name).toString()));
            Path stderr = work.resolve(name + ".stderr");
            ProcessBuilder b = new ProcessBuilder(command).redirectError(stderr.toFile());
            b.environment().put("FERRY_BENCH_PASSWORD", pg.password());
            b.environment().put("FERRY_BENCH_SINK_YAML", sinkYaml);
            Child child = new Child(b.start(), stderr);
            // streaming once its slot is active
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!slotActive(pg, "ferry_" + name)) {
                if (!child.process.isAlive() || System.nanoTime() > deadline) {
                    child.close();
                    throw new IllegalStateException("Ferry did not start streaming: " + Files.readString(stderr));
                }
                Thread.sleep(100);
            }
            return child;
        }

        String command(String command) throws IOException {
            in.println(command);
            String answer = out.readLine();
            // a profiler agent given in FERRY_JAVA_OPTS may print to stdout too
            while (answer != null && !answer.startsWith(ANSWERS.get(command))) {
                answer = out.readLine();
            }
            if (answer == null) {
                throw new IllegalStateException("Ferry's process answered " + answer + " to " + command + ": "
                        + Files.readString(stderr));
            }
            return answer;
        }

        @Override
        public void close() throws Exception {
            if (process.isAlive()) {
                in.println("stop");
                if (!process.waitFor(60, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        }
    }

    private static boolean slotActive(TestingPostgres pg, String slot) throws Exception {
        try (Connection c = pg.connect(DB);
             PreparedStatement s = c.prepareStatement("SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
            s.setString(1, slot);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }
}
