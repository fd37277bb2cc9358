package dev.ferry.bench;

import dev.ferry.testkit.TestingPostgres;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Debezium's embedded engine as a contender of {@link CdcBench}: ferry-bench-debezium's main class
 * ({@code dev.ferry.bench.debezium.DebeziumBench}, whose comment gives the protocol and Debezium's
 * configuration) in a child JVM with its own class path, so that Debezium's dependencies (Kafka
 * Connect, its pgjdbc and Jackson) never meet Ferry's. One child lives through the whole benchmark:
 * it creates its slot first, then drains the warm-up backlog, then the measured one, each time
 * starting an engine from the offsets it stored, so that its JIT is as warm as Ferry's in process.
 *
 * <p>The password goes to the child through its environment. The child's stderr (Debezium's
 * warnings and errors) goes to {@code debezium.log} in the work folder, and its end is printed in
 * the exception when the child fails.
 */
final class DebeziumContender implements AutoCloseable {
    static final String SLOT = "bench_debezium";
    static final String PUBLICATION = "debezium_pub";
    private static final String MAIN = "dev.ferry.bench.debezium.DebeziumBench";
    private static final String REPLY = "debezium-bench ";

    private final Path work;
    private final Path log;
    private final Process child;
    private final Writer commands;
    private final BufferedReader replies;
    private int drains;

    /** Starts the child; {@code tables} as Debezium's {@code table.include.list} ({@code public.a,public.b}). */
    DebeziumContender(TestingPostgres pg, String database, String tables, Path jar, Path work) throws IOException {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar.toAbsolutePath() + " is missing: build it with "
                    + "./mvnw -q -B -DskipTests -pl ferry-bench,ferry-bench-debezium -am package (run-cdc-bench.sh does)");
        }
        this.work = Files.createDirectories(work);
        this.log = work.resolve("debezium.log");
        ProcessBuilder b = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-cp", jar.toString(), MAIN, "--host", pg.host(), "--port", String.valueOf(pg.port()),
                "--database", database, "--user", pg.user(), "--slot", SLOT, "--publication", PUBLICATION,
                "--tables", tables, "--offsets", work.resolve("offsets.dat").toString());
        b.environment().put("FERRY_BENCH_PG_PASSWORD", pg.password());
        b.redirectError(log.toFile());
        child = b.start();
        commands = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8);
        replies = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Starts Debezium once, which creates its slot, and stops it. */
    void createSlot() throws IOException {
        ask("slot");
    }

    /**
     * Drains the next {@code changes} changes into a new JSONL file and checks it: the child's count,
     * the file's lines and their operations must be the backlog's ({@link CdcBench#expectedOps}).
     * Prints the run's numbers, with the time to the first batch and the time the engine took to stop.
     */
    CdcBench.Result drain(String label, long changes) throws IOException {
        Path file = work.resolve("changes-" + ++drains + ".jsonl");
        Map<String, String> result = result(ask("drain " + changes + " " + file));
        long records = Long.parseLong(result.get("records"));
        Map<Character, Long> ops = ops(file);
        if (records != changes || !ops.equals(CdcBench.expectedOps(changes))) {
            throw failure(label + " wrote " + records + " records (operations in the file: " + ops + "), not "
                    + changes + " " + CdcBench.expectedOps(changes));
        }
        return report(label, changes, result);
    }

    /**
     * Drains the next {@code changes} changes into Kafka, to the topics {@code bench.<schema>.<table>},
     * as Kafka Connect's worker would send them, and checks the broker acknowledged that many.
     */
    CdcBench.Result drainToKafka(String label, long changes, String bootstrapServers) throws IOException {
        Map<String, String> result = result(ask("kafka " + changes + " " + bootstrapServers));
        long records = Long.parseLong(result.get("records"));
        if (records != changes) {
            throw failure(label + ": the broker acknowledged " + records + " records, not " + changes);
        }
        return report(label, changes, result);
    }

    /** The {@code key=value} pairs of a reply. */
    private static Map<String, String> result(String reply) {
        Map<String, String> result = new HashMap<>();
        for (String pair : reply.split(" ")) {
            String[] kv = pair.split("=", 2);
            if (kv.length == 2) {
                result.put(kv[0], kv[1]);
            }
        }
        return result;
    }

    /** Prints a drain's numbers, with the time to the first batch and the time the engine took to stop. */
    private static CdcBench.Result report(String label, long changes, Map<String, String> result) {
        CdcBench.Result r = new CdcBench.Result(label, Double.parseDouble(result.get("seconds")), changes,
                Double.parseDouble(result.get("cpu")), Long.parseLong(result.get("peak_rss_kb")));
        System.out.printf(Locale.ROOT, "%s: %.1f s (the first batch after %s s), %,.0f changes/s, %.1f CPU s; then %s s "
                + "to stop the engine, not counted%n", label, r.seconds(), result.get("first_seconds"), r.perSecond(),
                r.cpuSeconds(), result.get("close_seconds"));
        return r;
    }

    /** Each line's operation ({@code "op":"c"} and so on, the envelope's last such key), counted. */
    private static Map<Character, Long> ops(Path file) throws IOException {
        Map<Character, Long> ops = new TreeMap<>();
        try (Stream<String> lines = Files.lines(file)) {
            lines.forEach(line -> {
                int at = line.lastIndexOf("\"op\":\"");
                ops.merge(at < 0 ? '?' : line.charAt(at + 6), 1L, Long::sum);
            });
        }
        return ops;
    }

    /** Sends one command and returns the child's reply, without its prefix. */
    private String ask(String command) throws IOException {
        try {
            commands.write(command + "\n");
            commands.flush();
            for (String line; (line = replies.readLine()) != null; ) {
                if (line.startsWith(REPLY)) {
                    return line.substring(REPLY.length());
                }
                System.out.println("debezium: " + line); // not ours: a library writing to stdout
            }
        } catch (IOException e) {
            throw failure("Debezium's process failed during \"" + command + "\": " + e.getMessage());
        }
        throw failure("Debezium's process ended during \"" + command + "\"");
    }

    private IllegalStateException failure(String what) throws IOException {
        List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
        return new IllegalStateException(what + "; the end of " + log + ":\n"
                + String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size())));
    }

    @Override
    public void close() {
        try {
            commands.close(); // end of commands: the child exits
            if (!child.waitFor(1, TimeUnit.MINUTES)) {
                child.destroyForcibly();
            }
        } catch (IOException e) {
            child.destroyForcibly(); // its stdin is gone: it is ending, or already has
        } catch (InterruptedException e) {
            child.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
