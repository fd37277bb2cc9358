package dev.ferry.bench.debezium;

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import io.debezium.engine.spi.OffsetCommitPolicy;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The Debezium contender of the CDC catch-up benchmark ({@code dev.ferry.bench.CdcBench} in ferry-bench
 * starts it): Debezium's embedded engine with the PostgreSQL connector (pgoutput) draining its own slot
 * into a JSONL file. It runs in a JVM of its own so that Debezium's dependencies never meet Ferry's, and
 * lives as long as the benchmark so that its JIT is as warm in the measured run as Ferry's is in process.
 *
 * <p>Protocol: the arguments say where to connect and what to read ({@code --host --port --database
 * --user --slot --publication --tables schema.t1,schema.t2 --offsets FILE}); the password comes from the
 * environment variable {@code FERRY_BENCH_PG_PASSWORD}, never from the command line. Then one command a
 * line on stdin, one reply a line on stdout, each reply starting with {@value #REPLY}:
 * <ul>
 *   <li>{@code slot}: starts an engine until it polls (so the slot exists), stops it; replies {@code slot ready};</li>
 *   <li>{@code drain N FILE}: starts an engine from the offsets stored in the offsets file, writes each
 *       data change of the tables as one line of FILE until N are written, commits the offsets, stops;
 *       replies {@code result seconds=S first_seconds=F close_seconds=C cpu=P records=R peak_rss_kb=K}:
 *       S from the engine's creation to the N-th line on disk, F from its creation to the first batch
 *       (connecting, checking, starting the stream), C from the N-th line to the engine stopped, P this
 *       process's CPU seconds in all of it (all threads), R the lines written, K the peak resident set
 *       during the command (VmHWM, reset before it).</li>
 *   <li>{@code kafka N BOOTSTRAP_SERVERS}: the same, but each change is sent to Kafka as Kafka Connect's
 *       worker sends it ({@link KafkaWriter}); R counts the records the broker acknowledged, and S ends
 *       at the N-th acknowledgement. Used by {@code dev.ferry.bench.KafkaBench}.</li>
 * </ul>
 * Logging (warnings and errors) goes to stderr. Any failure ends the process with a stack trace there.
 *
 * <p>Configuration: what a user streaming to JSON would set, nothing tuned beyond that. The async
 * engine {@code DebeziumEngine.create} gives in 3.6, with its defaults (records converted in parallel on
 * a cached thread pool, the batch handed in order to the consumer); {@code max.batch.size} 2,048 and
 * {@code max.queue.size} 8,192 and {@code poll.interval.ms} 500 left at their defaults: a batch of 2,048
 * already spreads the per-batch cost (an fsync here) thinly, and the backlog fills the queue faster than
 * it drains, so a larger queue would only hold more memory; the poll interval matters only at the end,
 * where a last batch smaller than 2,048 waits for it (at most 0.5 s, counted). Offsets in a
 * {@code FileOffsetBackingStore}, flushed every 10 s and when the engine stops. Decimals as strings
 * ({@code decimal.handling.mode=string}, as Ferry writes them; the default would be base64 bytes, which
 * mean nothing in JSON without a schema); no schemas in the JSON ({@code converter.schemas.enable=false},
 * as Ferry's envelope has none); no tombstones; no snapshot ({@code snapshot.mode=no_data}).
 */
public final class DebeziumBench {
    static final String REPLY = "debezium-bench ";
    private static final String TOPIC_PREFIX = "bench";
    private static final long TIMEOUT_MINUTES = 10;

    private final Properties config = new Properties();
    /** The topics of the captured tables: {@code <prefix>.<schema>.<table>}. */
    private final Set<String> topics;

    private DebeziumBench(Map<String, String> args, String password) {
        config.setProperty("name", args.get("slot"));
        config.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        config.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
        config.setProperty("offset.storage.file.filename", args.get("offsets"));
        config.setProperty("offset.flush.interval.ms", "10000");
        config.setProperty("database.hostname", args.get("host"));
        config.setProperty("database.port", args.get("port"));
        config.setProperty("database.user", args.get("user"));
        config.setProperty("database.password", password);
        config.setProperty("database.dbname", args.get("database"));
        config.setProperty("topic.prefix", TOPIC_PREFIX);
        config.setProperty("plugin.name", "pgoutput");
        config.setProperty("slot.name", args.get("slot"));
        // the benchmark creates the publication before any slot, as for the other contenders
        config.setProperty("publication.name", args.get("publication"));
        config.setProperty("publication.autocreate.mode", "disabled");
        config.setProperty("table.include.list", args.get("tables"));
        config.setProperty("snapshot.mode", "no_data");
        config.setProperty("tombstones.on.delete", "false");
        config.setProperty("decimal.handling.mode", "string");
        config.setProperty("converter.schemas.enable", "false");
        topics = Set.of(args.get("tables").split(",")).stream().map(t -> TOPIC_PREFIX + "." + t)
                .collect(Collectors.toUnmodifiableSet());
    }

    public static void main(String[] argv) {
        try {
            serve(argv);
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1); // Debezium's threads would keep the JVM alive, and CdcBench waiting for a reply
        }
        // Debezium's and Kafka's pools may leave non-daemon threads behind
        System.exit(0);
    }

    /** Answers the commands on stdin until it ends. */
    private static void serve(String[] argv) throws Exception {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            if (!argv[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value pairs, got " + argv[i]);
            }
            args.put(argv[i].substring(2), argv[i + 1]);
        }
        for (String required : List.of("host", "port", "database", "user", "slot", "publication", "tables", "offsets")) {
            if (!args.containsKey(required)) {
                throw new IllegalArgumentException("missing --" + required);
            }
        }
        String password = System.getenv("FERRY_BENCH_PG_PASSWORD");
        if (password == null) {
            throw new IllegalArgumentException("set FERRY_BENCH_PG_PASSWORD to the database password");
        }
        DebeziumBench bench = new DebeziumBench(args, password);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] command = line.split(" ", 3);
            String reply = switch (command[0]) {
                case "slot" -> bench.createSlot();
                case "drain" -> bench.drain(Long.parseLong(command[1]), Path.of(command[2]));
                case "kafka" -> bench.drainToKafka(Long.parseLong(command[1]), command[2]);
                default -> throw new IllegalArgumentException("unknown command: " + line);
            };
            System.out.println(REPLY + reply);
            System.out.flush();
        }
    }

    /**
     * Starts an engine until it polls (the connector has created its slot before), and stops it. The
     * sign it polls is its first empty poll, which asks the offset commit policy whether to commit:
     * {@code ConnectorCallback.pollingStarted} comes before the engine submits its polling task, and an
     * engine closed in between waits forever for a task that never runs (seen with 3.6.1).
     */
    private String createSlot() throws Exception {
        CompletableFuture<Void> polling = new CompletableFuture<>();
        run((records, committer) -> {
            throw new IllegalStateException("a change arrived before the backlog was written");
        }, (events, sinceLastCommit) -> {
            polling.complete(null);
            return false;
        }, polling);
        return "slot ready";
    }

    private String drain(long expected, Path file) throws Exception {
        return measure(new JsonlWriter(file, topics, expected));
    }

    private String drainToKafka(long expected, String bootstrapServers) throws Exception {
        return measure(new KafkaWriter(bootstrapServers, topics, expected));
    }

    /** Runs an engine into {@code consumer} until it is done, and replies with the numbers of the run. */
    private String measure(Consumer consumer) throws Exception {
        boolean peakReset = resetPeakRss();
        long cpu = cpuNanos();
        long start = System.nanoTime();
        long written;
        long firstNanos;
        long doneNanos;
        try (consumer) {
            run(consumer, null, consumer.done());
            written = consumer.written();
            firstNanos = consumer.firstNanos();
            doneNanos = consumer.doneNanos();
        }
        long stopped = System.nanoTime();
        return String.format(Locale.ROOT, "result seconds=%.3f first_seconds=%.3f close_seconds=%.3f cpu=%.3f records=%d "
                + "peak_rss_kb=%d", (doneNanos - start) / 1e9, (firstNanos - start) / 1e9, (stopped - doneNanos) / 1e9, (cpuNanos() - cpu) / 1e9, written,
                peakReset ? peakRssKb() : -1);
    }

    /** Where a drain sends the changes: a JSONL file or Kafka. */
    interface Consumer extends DebeziumEngine.ChangeConsumer<ChangeEvent<String, String>>, AutoCloseable {
        /** Completes once the expected number of changes is written. */
        CompletableFuture<Void> done();

        /** Changes written so far; read it after the engine stopped. */
        long written();

        /** {@link System#nanoTime} when the first batch arrived; 0 before. */
        long firstNanos();

        /** {@link System#nanoTime} when the expected number of changes was written; 0 before. */
        long doneNanos();

        @Override
        void close() throws IOException;
    }

    /**
     * Runs one engine until {@code until} completes, then stops it (which commits its offsets) and
     * waits for it to finish. The engine stopping on its own first is a failure.
     *
     * @param commitPolicy null for the engine's own (periodic, {@code offset.flush.interval.ms})
     */
    private void run(DebeziumEngine.ChangeConsumer<ChangeEvent<String, String>> consumer, OffsetCommitPolicy commitPolicy,
                     CompletableFuture<Void> until) throws Exception {
        CompletableFuture<Void> finished = new CompletableFuture<>();
        DebeziumEngine.Builder<ChangeEvent<String, String>> builder = DebeziumEngine.create(Json.class).using(config)
                .notifying(consumer).using((success, message, error) -> {
                    if (success) {
                        finished.complete(null);
                    } else {
                        finished.completeExceptionally(new IllegalStateException("Debezium failed: " + message, error));
                    }
                });
        DebeziumEngine<ChangeEvent<String, String>> engine = (commitPolicy == null ? builder : builder.using(commitPolicy)).build();
        Thread thread = new Thread(engine, "debezium-engine");
        thread.start();
        try {
            CompletableFuture.anyOf(until, finished).get(TIMEOUT_MINUTES, TimeUnit.MINUTES);
            if (!until.isDone()) {
                throw new IllegalStateException("Debezium stopped before it was done");
            }
        } finally {
            engine.close();
            finished.get(TIMEOUT_MINUTES, TimeUnit.MINUTES);
            thread.join();
        }
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Resets VmHWM to the current resident set (Linux 4.0+); false where that is not possible. */
    private static boolean resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** The peak resident set since the last reset, in kB; -1 where /proc does not say. */
    private static long peakRssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return -1;
    }
}
