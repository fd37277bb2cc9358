package dev.ferry.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.ferry.config.ComponentConfig;
import dev.ferry.event.ChangeEvent;
import dev.ferry.log.FileLog;
import dev.ferry.log.LogEntry;
import dev.ferry.log.LogReader;
import dev.ferry.log.LogSettings;
import dev.ferry.log.Offset;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.postgres.PostgresSourceFactory;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkSettings;
import dev.ferry.sink.kafka.KafkaSinkFactory;
import dev.ferry.source.Source;
import dev.ferry.source.SourceInfo;
import dev.ferry.testkit.TestingKafka;
import dev.ferry.testkit.TestingPostgres;
import java.io.IOException;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The Kafka benchmark: events per second into one private Kafka broker ({@link TestingKafka}, KRaft,
 * one partition per topic, replication factor 1, in a JVM with the full JIT and 1 GiB of heap), in one run:
 * <ul>
 *   <li>Kafka's own producer performance tool ({@code org.apache.kafka.tools.ProducerPerformance},
 *       from {@code org.apache.kafka:kafka-tools}) in a child JVM: the ceiling. It sends values drawn
 *       from a sample of the very records Ferry wrote (so the sizes match), without keys, with
 *       {@code acks=all}, idempotence and the Kafka sink's batching ({@code batch.size} 256 KiB,
 *       {@code linger.ms} 20), once in transactions committed every 100 ms (Ferry's
 *       {@code commit_interval_ms}) and once without transactions;</li>
 *   <li>Ferry's Kafka sink alone: the events of the measured backlog read from Ferry's Log and
 *       written by a second Kafka sink (its own topics and transactional id) in batches of 8,192, one
 *       transaction each, as the pipeline's delivery does once capture is ahead;</li>
 *   <li>Ferry end to end: a PostgreSQL backlog captured (pgoutput), appended to the durable Log and
 *       delivered by the Kafka sink, exactly once ({@code ferry run --once} of a pipeline
 *       {@code postgres → kafka});</li>
 *   <li>Debezium's embedded engine (3.6, PostgreSQL connector, pgoutput) draining the same backlog from
 *       its own slot into Kafka, each record sent as Kafka Connect's worker sends a source task's
 *       records (acks=all, one request in flight, no idempotence, no transactions: at least once),
 *       in a child JVM ({@link DebeziumContender}, {@code dev.ferry.bench.debezium.KafkaWriter}).</li>
 * </ul>
 * The backlog is the CDC benchmark's ({@link CdcBench#backlog}: inserts, updates and deletes on a wide
 * and a narrow table); a warm-up backlog of a fifth goes first, unmeasured, through Ferry and
 * Debezium. Both write the envelope without schemas and no tombstones (Debezium's configuration in
 * {@code DebeziumBench}; Ferry's {@code tombstones: false}), so both write one record per change.
 * Printed per contender: seconds, events/s, the ratio to the ceiling (the faster run of the producer tool),
 * MB/s of values, and CPU seconds per million events of the contender's own process (the broker's and
 * PostgreSQL's CPU are not counted for anyone); appended, dated, to docs/kafka-benchmarks.md with
 * {@code --docs}.
 *
 * <p>Usage: {@code KafkaBench [--changes N] [--docs FILE] [--debezium-jar JAR] [--sink-property K=V]...};
 * {@code --sink-property} adds a Kafka producer property to Ferry's sinks ({@code properties:}) and to
 * the producer tool alike, for trying {@code linger.ms}, {@code batch.size} or {@code compression.type}.
 * See run-kafka-bench.sh.
 */
public final class KafkaBench {
    private static final String DB = "shop";
    private static final int BATCH = CdcBench.FERRY_RUN_BATCH_EVENTS;
    /** Ferry's commit interval for the Kafka sink, and the producer tool's transaction length. */
    private static final int TRANSACTION_MILLIS = 100;
    /** Values sampled from Ferry's topics for the producer tool's payload file. */
    private static final int SAMPLE = 20_000;
    /** The Kafka sink's own batching (KafkaSink.BATCHING), given to the producer tool too. */
    private static final int SINK_BATCH_BYTES = 256 * 1024;
    private static final int SINK_LINGER_MS = 20;
    private static final String TIME = "/usr/bin/time";
    /** The broker with the full JIT and a parallel collector, not the tests' quick-start options. */
    private static final List<String> BROKER_JVM = List.of("-Xms1g", "-Xmx1g", "-XX:+UseG1GC");
    private static final String TIME_PREFIX = "ferry-bench-cpu ";

    /** One contender's run; {@code cpuSeconds} -1 where unknown. */
    record Result(String name, double seconds, long events, double valueBytes, double cpuSeconds) {
        double perSecond() {
            return events / seconds;
        }

        /** The row's cells: contender, seconds, events/s, ÷ ceiling, MB/s of values, CPU s per M. */
        List<String> cells(Result ceiling) {
            return List.of(name, String.format(Locale.ROOT, "%.1f", seconds), String.format(Locale.ROOT, "%,.0f", perSecond()),
                    String.format(Locale.ROOT, "%.2f", perSecond() / ceiling.perSecond()),
                    String.format(Locale.ROOT, "%.1f", perSecond() * valueBytes / 1e6),
                    cpuSeconds >= 0 ? String.format(Locale.ROOT, "%.1f", cpuSeconds / (events / 1e6)) : "-");
        }
    }

    private KafkaBench() {
    }

    public static void main(String[] args) throws Exception {
        long changes = 500_000;
        Path docs = null;
        Path debeziumJar = Path.of("ferry-bench-debezium/target/debezium-bench.jar");
        Map<String, String> sinkProperties = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--changes" -> changes = Long.parseLong(args[++i]);
                case "--docs" -> docs = Path.of(args[++i]);
                case "--debezium-jar" -> debeziumJar = Path.of(args[++i]);
                case "--sink-property" -> {
                    String[] kv = args[++i].split("=", 2);
                    sinkProperties.put(kv[0], kv[1]);
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        changes = Math.max(5000, changes / 5000 * 5000); // the backlog's mix divides multiples of 5,000
        Path work = Files.createTempDirectory("ferry-kafka-bench-");
        try (TestingPostgres pg = TestingPostgres.builder().setting("max_wal_size", "4GB")
                .setting("checkpoint_timeout", "30min").setting("autovacuum", "off").start();
             TestingKafka kafka = TestingKafka.start(BROKER_JVM);
             DebeziumContender debezium = new DebeziumContender(pg, DB, CdcBench.TABLES, debeziumJar,
                     work.resolve("debezium"))) {
            pg.createDatabase(DB);
            pg.execute(DB, CdcBench.TABLES_DDL);
            pg.execute(DB, "CREATE PUBLICATION " + DebeziumContender.PUBLICATION + " FOR TABLE orders, ticks");
            Ferry ferry = new Ferry(pg, kafka, work, sinkProperties);
            ferry.run(); // creates its slot and publication: the backlogs below wait for it
            debezium.createSlot();

            long warm = Math.max(5000, changes / 5 / 5000 * 5000);
            CdcBench.backlog(pg, warm, 0);
            ferry.run();
            debezium.drainToKafka("Debezium warm-up", warm, kafka.bootstrapServers());

            long generateStart = System.nanoTime();
            CdcBench.backlog(pg, changes, warm);
            pg.execute(DB, "CHECKPOINT"); // not during the first contender's run
            System.out.printf(Locale.ROOT, "PostgreSQL %s, Kafka %s at %s: a backlog of %,d changes written in %.1f s%n",
                    pg.serverVersionNum(), org.apache.kafka.common.utils.AppInfoParser.getVersion(),
                    kafka.bootstrapServers(), changes, (System.nanoTime() - generateStart) / 1e9);

            long logStart = ferry.logEnd();
            Result endToEnd = ferry.measure(changes);
            CdcBench.Result debeziumRun = debezium.drainToKafka("Debezium embedded into Kafka", changes,
                    kafka.bootstrapServers());
            Path payloads = work.resolve("payloads.txt");
            double valueBytes = samplePayloads(kafka, "ferry.public.", payloads); // Ferry's: the producer tool's too
            endToEnd = new Result(endToEnd.name(), endToEnd.seconds(), changes, valueBytes, endToEnd.cpuSeconds());
            double debeziumBytes = samplePayloads(kafka, "bench.public.", work.resolve("debezium-values.txt"));
            Result debeziumKafka = new Result(debeziumRun.name(), debeziumRun.seconds(), changes, debeziumBytes,
                    debeziumRun.cpuSeconds());
            Result sinkAlone = ferry.relay(logStart, changes, valueBytes);
            Result transactional = producerTool(kafka, payloads, changes, true, valueBytes, sinkProperties);
            Result plain = producerTool(kafka, payloads, changes, false, valueBytes, sinkProperties);

            List<Result> results = List.of(transactional, plain, sinkAlone, endToEnd, debeziumKafka);
            // the ceiling: the faster of the tool's two runs (without transactions it may be either)
            Result ceiling = transactional.perSecond() >= plain.perSecond() ? transactional : plain;
            String table = table(results, ceiling);
            System.out.print(table);
            String ratios = String.format(Locale.ROOT, "Ferry's Kafka sink ÷ the producer tool in transactions of %d ms: "
                            + "%.2f, ÷ the tool without transactions: %.2f; Ferry end to end ÷ Debezium into Kafka: %.2f",
                    TRANSACTION_MILLIS, sinkAlone.perSecond() / transactional.perSecond(),
                    sinkAlone.perSecond() / plain.perSecond(), endToEnd.perSecond() / debeziumKafka.perSecond());
            System.out.println(ratios);
            if (docs != null) {
                Files.writeString(docs, String.format(Locale.ROOT, "%n### Kafka, %s: %,d changes, values of %.0f bytes on "
                                + "average%s%n%n", LocalDate.now(), changes, valueBytes,
                        sinkProperties.isEmpty() ? "" : " (Ferry's sink with " + sinkProperties + ")")
                        + markdown(results, ceiling) + "\n" + ratios + "\n", StandardOpenOption.APPEND);
            }
        } finally {
            try (Stream<Path> walk = Files.walk(work)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /**
     * Ferry's pipeline {@code postgres → kafka} ({@code orders} and {@code ticks}, no snapshot), each
     * run a batch run ({@code --once}) from where the last one stopped, and its Log read again by a
     * second Kafka sink.
     */
    private static final class Ferry {
        private static final String NAME = "bench_kafka";
        private final TestingPostgres pg;
        private final TestingKafka kafka;
        private final Path state;
        private final Map<String, String> sinkProperties;

        Ferry(TestingPostgres pg, TestingKafka kafka, Path work, Map<String, String> sinkProperties) {
            this.pg = pg;
            this.kafka = kafka;
            this.state = work.resolve(NAME);
            this.sinkProperties = sinkProperties;
        }

        /** The Kafka sink's configuration, writing to topics {@code <prefix>.<schema>.<table>}. */
        private ComponentConfig sinkConfig(String prefix) throws Exception {
            StringBuilder yaml = new StringBuilder("type: kafka\nbootstrap_servers: " + kafka.bootstrapServers()
                    + "\ntopic_prefix: " + prefix + "\ntombstones: false\ncommit_interval_ms: " + TRANSACTION_MILLIS + "\n");
            if (!sinkProperties.isEmpty()) {
                yaml.append("properties:\n");
                sinkProperties.forEach((k, v) -> yaml.append("  ").append(k).append(": '").append(v).append("'\n"));
            }
            return ComponentConfig.ofYaml("sink", yaml.toString());
        }

        void run() throws Exception {
            PostgresSourceFactory factory = new PostgresSourceFactory();
            String yaml = "type: postgres\nport: " + pg.port() + "\ndatabase: " + DB + "\nuser: " + pg.user()
                    + "\npassword: '" + pg.password() + "'\ntables: [public.orders, public.ticks]\nsnapshot: never\n"
                    + "new_tables_check_seconds: 0\n";
            KafkaSinkFactory kafkaType = new KafkaSinkFactory();
            ComponentConfig sinkConfig = sinkConfig("ferry");
            // the Log as ferry run sets it up by default; delivered segments are kept for relay()
            try (Source source = factory.create(NAME, ComponentConfig.ofYaml("source", yaml));
                 FileLog log = FileLog.open(state.resolve("log"), factory.positionCodec(), LogSettings.DEFAULT.options());
                 Sink sink = kafkaType.create(NAME, sinkConfig, new SourceInfo("postgres", NAME, DB))) {
                source.workFolder(state.resolve("work"));
                Pipeline pipeline = new Pipeline(NAME, source, log, List.of(sink), List.of("kafka"), BATCH, 0,
                        TimeUnit.HOURS.toMillis(1));
                pipeline.sinkSettings(List.of(SinkSettings.read(sinkConfig, kafkaType)));
                pipeline.run(Mode.ONCE);
            }
        }

        /** The end of the Log: the offset the next event will get. */
        long logEnd() throws IOException {
            try (FileLog log = FileLog.openReadOnly(state.resolve("log"), new PostgresSourceFactory().positionCodec())) {
                return log.end().value();
            }
        }

        /** One run, which must capture and deliver exactly {@code changes} events. */
        Result measure(long changes) throws Exception {
            String label = "Ferry: PostgreSQL → Log → Kafka sink";
            long before = logEnd();
            OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long cpu = os.getProcessCpuTime();
            long start = System.nanoTime();
            run();
            double seconds = (System.nanoTime() - start) / 1e9;
            long delivered = logEnd() - before;
            if (delivered != changes) {
                throw new IllegalStateException(label + " captured " + delivered + " events, not " + changes);
            }
            Result r = new Result(label, seconds, changes, 0, (os.getProcessCpuTime() - cpu) / 1e9);
            System.out.printf(Locale.ROOT, "%s: %.1f s, %,.0f events/s, %.1f CPU s%n", label, seconds, r.perSecond(),
                    r.cpuSeconds());
            return r;
        }

        /**
         * Ferry's Kafka sink alone: the {@code changes} events from {@code first} on, read from the Log
         * and written by a new sink (topics {@code relay.*}, its own transactional id) in batches of
         * {@link #BATCH}, one transaction each. The Log is read ahead of the clock, so the time is the
         * sink's (its fencing included) and the reads'.
         */
        Result relay(long first, long changes, double valueBytes) throws Exception {
            String label = "Ferry's Kafka sink alone: Log → Kafka";
            PostgresSourceFactory factory = new PostgresSourceFactory();
            OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long written = 0;
            double seconds;
            long cpu;
            try (FileLog log = FileLog.openReadOnly(state.resolve("log"), factory.positionCodec());
                 Sink sink = new KafkaSinkFactory().create(NAME, sinkConfig("relay"), new SourceInfo("postgres", NAME, DB));
                 LogReader reader = log.readFrom(Offset.of(first))) {
                Offset limit = Offset.of(first + changes);
                cpu = os.getProcessCpuTime();
                long start = System.nanoTime();
                while (written < changes) {
                    List<LogEntry> entries = reader.read(BATCH, limit);
                    if (entries.isEmpty()) {
                        throw new IllegalStateException("the Log ended after " + written + " of " + changes + " events");
                    }
                    List<ChangeEvent> events = entries.stream().map(LogEntry::event).collect(Collectors.toList());
                    sink.write(events, entries.get(entries.size() - 1).offset());
                    written += events.size();
                }
                seconds = (System.nanoTime() - start) / 1e9;
                cpu = os.getProcessCpuTime() - cpu;
            }
            Result r = new Result(label, seconds, written, valueBytes, cpu / 1e9);
            System.out.printf(Locale.ROOT, "%s: %.1f s, %,.0f events/s, %.1f CPU s%n", label, seconds, r.perSecond(),
                    r.cpuSeconds());
            return r;
        }
    }

    /**
     * Writes up to {@link #SAMPLE} values of the topics starting with {@code prefix} (read_committed),
     * one a line (Ferry's: the producer tool's {@code --payload-file}); returns their mean size in bytes.
     * The envelope is one line of JSON (a newline inside a value is escaped), so a line is a value.
     */
    private static double samplePayloads(TestingKafka kafka, String prefix, Path file) throws IOException {
        long bytes = 0;
        int n = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false), new ByteArrayDeserializer(), new ByteArrayDeserializer());
             Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            List<TopicPartition> partitions = consumer.listTopics(Duration.ofSeconds(30)).entrySet().stream()
                    .filter(t -> t.getKey().startsWith(prefix))
                    .flatMap(t -> t.getValue().stream().map(p -> new TopicPartition(p.topic(), p.partition())))
                    .toList();
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            for (TopicPartition tp : partitions) {
                // the end of each topic: the measured backlog, where the wide and narrow rows are mixed as counted
                consumer.assign(List.of(tp));
                long share = SAMPLE / partitions.size();
                consumer.seek(tp, Math.max(0, ends.get(tp) - share * 3 / 2));
                int taken = 0;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (taken < share && consumer.position(tp) < ends.get(tp) && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                        if (r.value() != null && taken < share) {
                            out.write(new String(r.value(), StandardCharsets.UTF_8));
                            out.write('\n');
                            bytes += r.value().length;
                            taken++;
                        }
                    }
                }
                n += taken;
            }
        }
        if (n == 0) {
            throw new IllegalStateException("no record found in the topics " + prefix + "*");
        }
        double mean = (double) bytes / n;
        System.out.printf(Locale.ROOT, "%,d values sampled from the topics %s*: %.0f bytes on average%n", n, prefix, mean);
        return mean;
    }

    /**
     * Kafka's producer performance tool in a child JVM (this class path), {@code changes} records
     * drawn from the payload file into a topic of its own, unthrottled, {@code acks=all} with
     * idempotence, the sink's batching and the properties given to Ferry's sinks; in transactions of
     * {@link #TRANSACTION_MILLIS} ms or without. Its own summary line gives the rate;
     * {@code /usr/bin/time}, where there is one, its CPU.
     */
    private static Result producerTool(TestingKafka kafka, Path payloads, long changes, boolean transactions,
                                       double valueBytes, Map<String, String> properties) throws Exception {
        String label = "Kafka's producer tool, " + (transactions ? "transactions of " + TRANSACTION_MILLIS + " ms"
                : "no transactions");
        List<String> command = new ArrayList<>();
        boolean timed = Files.isExecutable(Path.of(TIME));
        if (timed) {
            command.addAll(List.of(TIME, "-f", TIME_PREFIX + "%U %S"));
        }
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), "org.apache.kafka.tools.ProducerPerformance",
                "--topic", "perf-" + (transactions ? "transactional" : "plain"), "--num-records", String.valueOf(changes),
                "--throughput", "-1", "--payload-file", payloads.toString(),
                "--producer-props", "bootstrap.servers=" + kafka.bootstrapServers(), "acks=all", "enable.idempotence=true",
                "batch.size=" + SINK_BATCH_BYTES, "linger.ms=" + SINK_LINGER_MS));
        properties.forEach((k, v) -> command.add(k + "=" + v));
        if (transactions) {
            command.addAll(List.of("--transactional-id", "perf-tool", "--transaction-duration-ms",
                    String.valueOf(TRANSACTION_MILLIS)));
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("ProducerPerformance failed: " + output);
        }
        // its summary: "500000 records sent, 123456.7 records/sec (12.34 MB/sec), 5.1 ms avg latency, ... 99.9th."
        Matcher summary = Pattern.compile("(\\d+) records sent, ([0-9.]+) records/sec .*50th").matcher(output);
        if (!summary.find()) {
            throw new IllegalStateException("no summary line in ProducerPerformance's output: " + output);
        }
        long sent = Long.parseLong(summary.group(1));
        double perSecond = Double.parseDouble(summary.group(2));
        if (sent != changes) {
            throw new IllegalStateException(label + " sent " + sent + " records, not " + changes + ": " + output);
        }
        double cpu = -1;
        int at = output.lastIndexOf(TIME_PREFIX);
        if (timed && at >= 0) {
            String[] userSys = output.substring(at + TIME_PREFIX.length()).trim().split("\\s+");
            cpu = Double.parseDouble(userSys[0]) + Double.parseDouble(userSys[1]);
        }
        Result r = new Result(label, changes / perSecond, changes, valueBytes, cpu);
        System.out.printf(Locale.ROOT, "%s: %.1f s, %,.0f events/s%n", label, r.seconds(), r.perSecond());
        return r;
    }

    private static String table(List<Result> results, Result ceiling) {
        String row = "%-46s %8s %12s %10s %8s %12s%n";
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, row, "contender", "seconds", "events/s", "÷ ceiling",
                "MB/s", "CPU s per M"));
        for (Result r : results) {
            b.append(String.format(Locale.ROOT, row, r.cells(ceiling).toArray()));
        }
        return b.toString();
    }

    private static String markdown(List<Result> results, Result ceiling) {
        StringBuilder b = new StringBuilder("| contender | seconds | events/s | ÷ ceiling | MB/s of values | "
                + "CPU s per million events |\n|---|---|---|---|---|---|\n");
        for (Result r : results) {
            b.append("| ").append(String.join(" | ", r.cells(ceiling))).append(" |\n");
        }
        return b.toString();
    }
}
