package dev.ferry.bench;

import dev.ferry.testkit.DuckDbMirrorVerifier;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingKafka;
import dev.ferry.testkit.TestingPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The sink benchmark: how fast each sink takes a snapshot and a stream of changes, beside the capture
 * rate, in one run on the same data. One private PostgreSQL holds a shop-like table {@code orders} of
 * {@code --rows} rows (a wide row: bigint key, int, {@code numeric(12,2)}, two texts, {@code timestamptz},
 * {@code jsonb}) and an empty narrow table {@code ticks}. Each contender is a pipeline of its own (its
 * own slot, Log and state folder) into one sink, run as {@code ferry run --once} in a process of its
 * own ({@link SinkBenchRun}, the launcher's {@code -Xms16m -Xmx1g}):
 * <ol>
 *   <li><b>snapshot</b>: each pipeline's first run copies the tables ({@code snapshot: initial}) into
 *       its sink and exits;</li>
 *   <li>then a backlog of {@code --changes} changes is written (the CDC benchmark's mix,
 *       {@link CdcBench#backlog}: inserts in transactions of 10, one large transaction of inserts,
 *       updates of the new orders in transactions of 100, deletes in transactions of 1,000);</li>
 *   <li><b>stream</b>: each pipeline's second run drains the backlog into its sink and exits.</li>
 * </ol>
 * A run's time is wall clock from assembling the pipeline to its exit: capture, the durable Log and
 * the sink run at the same time, so a sink slower than capture sets the pace. The {@code null}
 * contenders (a sink that discards) measure the capture rate itself; the first runs before the others
 * and {@code null-after} after them, as the machine drifts. Each run's delivered events must equal the
 * rows or changes, or the benchmark fails; DuckDB mirrors are compared with the source row by row
 * after the stream ({@link DuckDbMirrorVerifier}).
 *
 * <p>Sinks: {@code --sinks a,b,c} picks among {@link #SINKS} (a new sink type is one line there), and
 * {@code --sink name='yaml'} adds one. The postgres sink writes into a second private PostgreSQL, the
 * kafka sink into a private Kafka broker ({@link TestingKafka}, started only when selected).
 *
 * <p>Usage: {@code SinkBench [--rows N] [--changes N] [--sinks LIST] [--sink NAME=YAML] [--docs FILE]};
 * see run-sink-bench.sh.
 */
public final class SinkBench {
    private static final String DB = "shop";
    private static final String WAREHOUSE = "warehouse";
    private static final List<String> TABLES = List.of("public.orders", "public.ticks");

    /**
     * The sinks by name, each its pipeline file's {@code sink:} section. Placeholders: {@code {dir}} the
     * contender's own folder, {@code {warehouse_port}}, {@code {warehouse_user}}, {@code {warehouse_password}}
     * (the second PostgreSQL), {@code {kafka}} (the broker's bootstrap servers).
     */
    static final Map<String, String> SINKS = new LinkedHashMap<>();

    static {
        SINKS.put("null", "type: discard\npath: '{dir}/discard.offset'");
        SINKS.put("jsonl", "type: jsonl\npath: '{dir}/jsonl'");
        SINKS.put("duckdb", "type: duckdb\npath: '{dir}/mirror.duckdb'");
        SINKS.put("duckdb-history", "type: duckdb\npath: '{dir}/history.duckdb'\nhistory: true");
        SINKS.put("postgres", "type: postgres\nport: {warehouse_port}\ndatabase: " + WAREHOUSE
                + "\nuser: {warehouse_user}\npassword: '{warehouse_password}'");
        SINKS.put("kafka", "type: kafka\nbootstrap_servers: '{kafka}'");
        SINKS.put("null-after", SINKS.get("null"));
    }

    /** One run of one contender. */
    record Run(double seconds, long events, double cpuSeconds, long heapAfterGc, long heapUsed, long rssKb) {
        double perSecond() {
            return events / seconds;
        }
    }

    private SinkBench() {
    }

    public static void main(String[] args) throws Exception {
        long rows = 1_000_000;
        long changes = 1_000_000;
        Path docs = null;
        List<String> selected = new ArrayList<>(SINKS.keySet());
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rows" -> rows = Long.parseLong(args[++i]);
                case "--changes" -> changes = Long.parseLong(args[++i]);
                case "--sinks" -> selected = Arrays.stream(args[++i].split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
                case "--sink" -> {
                    String[] nameYaml = args[++i].split("=", 2);
                    SINKS.put(nameYaml[0], nameYaml[1]);
                    selected = new ArrayList<>(selected);
                    selected.add(nameYaml[0]);
                }
                case "--docs" -> docs = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        for (String s : selected) {
            if (!SINKS.containsKey(s)) {
                throw new IllegalArgumentException("unknown sink " + s + "; known: " + SINKS.keySet());
            }
        }
        // the backlog's mix divides a multiple of 5,000 exactly
        changes = Math.max(5000, changes / 5000 * 5000);
        Path work = Files.createTempDirectory("ferry-sink-bench-");
        String load = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        boolean postgres = selected.stream().anyMatch(s -> SINKS.get(s).contains("{warehouse_"));
        boolean kafka = selected.stream().anyMatch(s -> SINKS.get(s).contains("{kafka}"));
        try (TestingPostgres pg = TestingPostgres.builder().setting("max_wal_size", "4GB")
                .setting("checkpoint_timeout", "30min").setting("autovacuum", "off").start();
             TestingPostgres warehouse = postgres ? TestingPostgres.builder().setting("max_wal_size", "4GB").start() : null;
             TestingKafka broker = kafka ? TestingKafka.start() : null) {
            if (warehouse != null) {
                warehouse.createDatabase(WAREHOUSE);
            }
            pg.createDatabase(DB);
            long seedStart = System.nanoTime();
            pg.execute(DB, "CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, amount numeric(12,2), "
                            + "status text, note text, created_at timestamptz, attrs jsonb)",
                    "CREATE TABLE ticks (id bigint PRIMARY KEY, v int NOT NULL)",
                    "INSERT INTO orders SELECT g, g % 5000, (g % 100000) / 100.0, (ARRAY['new','paid','shipped'])[1 + g % 3], "
                            + "md5(g::text) || md5((g * 7)::text), timestamptz '2026-01-01' + g * interval '1 second', "
                            + "jsonb_build_object('k', g % 17, 'tag', 'x' || g % 9) FROM generate_series(1, " + rows + ") g",
                    "VACUUM ANALYZE orders", "CHECKPOINT");
            System.out.printf(Locale.ROOT, "PostgreSQL %s: %,d rows in orders, written in %.1f s%n", pg.serverVersionNum(), rows,
                    (System.nanoTime() - seedStart) / 1e9);

            Map<String, Path> files = new LinkedHashMap<>();
            for (String s : selected) {
                Path dir = Files.createDirectories(work.resolve(s));
                files.put(s, pipelineFile(pg, warehouse, broker, s, dir));
            }
            Map<String, Run> snapshots = new LinkedHashMap<>();
            for (String s : selected) {
                snapshots.put(s, run(s, "snapshot", files.get(s), rows));
            }
            long backlogStart = System.nanoTime();
            CdcBench.backlog(pg, changes, rows);
            pg.execute(DB, "CHECKPOINT");
            System.out.printf(Locale.ROOT, "a backlog of %,d changes written in %.1f s%n", changes,
                    (System.nanoTime() - backlogStart) / 1e9);
            Map<String, Run> streams = new LinkedHashMap<>();
            for (String s : selected) {
                streams.put(s, run(s, "stream", files.get(s), changes));
                if (SINKS.get(s).contains("type: duckdb")) {
                    verifyDuckDb(pg, files.get(s).getParent(), s);
                }
            }
            String table = table(selected, snapshots, streams, rows, changes);
            System.out.print(table);
            if (docs != null) {
                String heading = String.format(Locale.ROOT, "%n### Sinks, %s UTC, commit %s: a snapshot of %,d rows, a stream of "
                                + "%,d changes (PostgreSQL %s, load %s)%n%n",
                        LocalDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")), commit(), rows,
                        changes, pg.serverVersionNum() / 10000 + "." + pg.serverVersionNum() % 10000, load);
                Files.writeString(docs, heading + table, StandardOpenOption.APPEND);
            }
        } finally {
            Workload.delete(work);
        }
    }

    private static Path pipelineFile(TestingPostgres pg, TestingPostgres warehouse, TestingKafka broker, String sink,
                                     Path dir) throws IOException {
        String sinkYaml = SINKS.get(sink).replace("{dir}", dir.toString());
        if (warehouse != null) {
            sinkYaml = sinkYaml.replace("{warehouse_port}", String.valueOf(warehouse.port()))
                    .replace("{warehouse_user}", warehouse.user()).replace("{warehouse_password}", warehouse.password());
        }
        if (broker != null) {
            sinkYaml = sinkYaml.replace("{kafka}", broker.bootstrapServers());
        }
        String name = "bench_" + sink.replaceAll("[^A-Za-z0-9]", "_");
        String yaml = "name: " + name + "\nsource:\n  type: postgres\n  host: " + pg.host() + "\n  port: " + pg.port()
                + "\n  database: " + DB + "\n  user: " + pg.user() + "\n  password: '" + pg.password() + "'\n  tables: ["
                + String.join(", ", TABLES) + "]\n  snapshot: initial\n  new_tables_check_seconds: 0\nsink:\n  "
                + sinkYaml.replace("\n", "\n  ") + "\nstate: '" + dir.resolve("state") + "'\n";
        Path file = dir.resolve("pipeline.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    /** Runs the pipeline once in a child JVM; the sink must have taken {@code expected} events. */
    private static Run run(String sink, String phase, Path pipelineFile, long expected) throws Exception {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xms16m", "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), SinkBenchRun.class.getName(), pipelineFile.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(1, TimeUnit.HOURS) || p.exitValue() != 0) {
            throw new IllegalStateException(sink + " " + phase + " failed:\n" + output);
        }
        String line = output.lines().filter(l -> l.startsWith("result ")).reduce((a, b) -> b)
                .orElseThrow(() -> new IllegalStateException(sink + " " + phase + ": no result in\n" + output));
        String[] f = line.split(" ");
        Run r = new Run(Double.parseDouble(f[1]), Long.parseLong(f[2]), Double.parseDouble(f[5]), Long.parseLong(f[6]),
                Long.parseLong(f[7]), Long.parseLong(f[8]));
        if (r.events() != expected) {
            throw new IllegalStateException(sink + " " + phase + " delivered " + r.events() + " events, not " + expected
                    + ":\n" + output);
        }
        System.out.printf(Locale.ROOT, "%s %s: %.1f s, %,.0f events/s, %.1f CPU s, heap %.0f MB live / %.0f MB used, RSS %.0f MB%n",
                sink, phase, r.seconds(), r.perSecond(), r.cpuSeconds(), r.heapAfterGc() / 1e6, r.heapUsed() / 1e6,
                r.rssKb() * 1024 / 1e6);
        return r;
    }

    /** The replay check of a DuckDB contender's mirrors against the source. */
    private static void verifyDuckDb(TestingPostgres pg, Path dir, String sink) throws Exception {
        Path file;
        try (var found = Files.list(dir)) {
            file = found.filter(f -> f.toString().endsWith(".duckdb")).findFirst().orElseThrow();
        }
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:" + file);
             Connection source = pg.connect(DB)) {
            ReplayVerifier.Result result = DuckDbMirrorVerifier.verify(duck, source, TABLES);
            if (!result.ok()) {
                throw new IllegalStateException(sink + ": the DuckDB mirror differs from the source: " + result);
            }
            System.out.println(sink + ": mirror equal to the source: " + result);
        }
    }

    private static String table(List<String> selected, Map<String, Run> snapshots, Map<String, Run> streams, long rows,
                                long changes) {
        double nullSnapshot = capture(selected, snapshots);
        double nullStream = capture(selected, streams);
        StringBuilder b = new StringBuilder("| sink | snapshot s | snapshot rows/s | ÷ capture | stream s | stream changes/s "
                + "| ÷ capture | peak heap live / used MB (snapshot; stream) | peak RSS MB (snapshot; stream) | CPU s per M events |\n"
                + "|---|---|---|---|---|---|---|---|---|---|\n");
        for (String s : selected) {
            Run a = snapshots.get(s);
            Run z = streams.get(s);
            b.append(String.format(Locale.ROOT, "| %s | %.1f | %,.0f | %.2f | %.1f | %,.0f | %.2f | %.0f / %.0f; %.0f / %.0f | %.0f; %.0f "
                            + "| %.1f |%n", s, a.seconds(), a.perSecond(), a.perSecond() / nullSnapshot, z.seconds(),
                    z.perSecond(), z.perSecond() / nullStream, a.heapAfterGc() / 1e6, a.heapUsed() / 1e6, z.heapAfterGc() / 1e6,
                    z.heapUsed() / 1e6, a.rssKb() * 1024 / 1e6, z.rssKb() * 1024 / 1e6,
                    (a.cpuSeconds() + z.cpuSeconds()) / ((rows + changes) / 1e6)));
        }
        b.append(String.format(Locale.ROOT, "%nCapture rate (the faster null run): snapshot %,.0f rows/s, stream %,.0f changes/s.%n",
                nullSnapshot, nullStream));
        return b.toString();
    }

    /** The checkout's commit, {@code -dirty} with uncommitted changes; {@code ?} outside a git checkout. */
    private static String commit() {
        try {
            Process p = new ProcessBuilder("git", "describe", "--always", "--dirty").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 ? out : "?";
        } catch (IOException | InterruptedException e) {
            return "?";
        }
    }

    /** The capture rate: the faster of the null contenders' runs, or NaN without one. */
    private static double capture(List<String> selected, Map<String, Run> runs) {
        return selected.stream().filter(s -> SINKS.get(s).startsWith("type: discard")).mapToDouble(s -> runs.get(s).perSecond())
                .max().orElse(Double.NaN);
    }
}
