package dev.ferry.testkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private single-node Kafka broker in KRaft mode (one process is broker and controller), on a free
 * loopback port, its data in a fresh temporary folder. Settings are sized for tests: one partition
 * per auto-created topic, replication factor 1 everywhere (the offsets and transaction state topics
 * included, with min ISR 1), no initial rebalance delay.
 *
 * <p>The broker runs as a <b>child JVM</b> ({@code kafka.Kafka}) started from this JVM's own class
 * path, so Kafka's server jars ({@code org.apache.kafka:kafka_2.13}) must be on the test class path;
 * they are never a dependency of the testkit itself, which keeps them out of Ferry's shaded jar. A
 * child process can be killed with SIGKILL ({@link #kill()}) and started again on the same port and
 * data ({@link #start()} after {@link #stop()}), like a real broker restart, and a test that dies
 * leaves no broker threads inside its own JVM. A shutdown hook kills brokers a test forgot to close.
 *
 * <pre>{@code
 * try (TestingKafka kafka = TestingKafka.start()) {
 *     producerProps.put("bootstrap.servers", kafka.bootstrapServers());
 * }
 * }</pre>
 */
public final class TestingKafka implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TestingKafka.class);
    private static final String HOST = "127.0.0.1";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Set<TestingKafka> RUNNING = ConcurrentHashMap.newKeySet();

    static {
        // brokers a test forgot to close: killed, their folders deleted, when the JVM exits
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(k -> {
            k.kill();
            k.deleteFolder();
        }), "ferry-kafka-reaper"));
    }

    private final Path baseDir;
    private final Path config;
    private final Path brokerLog;
    private final int port;
    private final List<String> jvmOptions;
    private Process process;

    private TestingKafka(Path baseDir, int port, int controllerPort, List<String> jvmOptions) throws IOException {
        this.baseDir = baseDir;
        this.jvmOptions = List.copyOf(jvmOptions);
        this.port = port;
        this.config = baseDir.resolve("server.properties");
        this.brokerLog = baseDir.resolve("broker.log");
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@" + HOST + ":" + controllerPort);
        p.put("listeners", "PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + port);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT");
        p.put("log.dirs", baseDir.resolve("data").toString());
        p.put("num.partitions", "1");
        p.put("default.replication.factor", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "true");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "2");
        p.put("log.cleaner.dedupe.buffer.size", String.valueOf(8 << 20));
        try (var out = Files.newBufferedWriter(config)) {
            p.store(out, "TestingKafka");
        }
        Files.writeString(baseDir.resolve("logback.xml"), """
                <configuration>
                  <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
                    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{30} - %msg%n</pattern></encoder>
                  </appender>
                  <logger name="kafka.server.KafkaRaftServer" level="INFO"/>
                  <logger name="kafka.server.BrokerServer" level="INFO"/>
                  <root level="WARN"><appender-ref ref="OUT"/></root>
                </configuration>
                """);
    }

    /** The broker JVM's options for tests: small, quick to start (C1 only), one GC thread. */
    public static final List<String> TEST_JVM_OPTIONS = List.of("-Xms64m", "-Xmx512m", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1");

    /** Formats a new broker in a temporary folder and starts it; returns once it answers requests. */
    public static TestingKafka start() {
        return start(TEST_JVM_OPTIONS);
    }

    /**
     * {@link #start()} with other options for the broker's JVM: a benchmark gives it the full JIT
     * ({@code List.of("-Xmx1g")}), which {@link #TEST_JVM_OPTIONS} trades for a quicker start.
     */
    public static TestingKafka start(List<String> jvmOptions) {
        try {
            Path dir = Files.createTempDirectory("ferry-kafka-");
            int[] ports = freePorts(2);
            TestingKafka kafka = new TestingKafka(dir, ports[0], ports[1], jvmOptions);
            kafka.format();
            kafka.startBroker();
            return kafka;
        } catch (IOException e) {
            throw new UncheckedIOException("could not set up a private Kafka broker", e);
        }
    }

    /** {@code 127.0.0.1:PORT}, for the clients' {@code bootstrap.servers}; the same across restarts. */
    public String bootstrapServers() {
        return HOST + ":" + port;
    }

    /** The broker's TCP port. */
    public int port() {
        return port;
    }

    /**
     * Every record of a topic that a {@code read_committed} consumer sees, partition by partition
     * (in each partition in order), up to the end the topic has when the call starts; empty for a
     * topic that does not exist.
     */
    public List<ConsumerRecord<byte[], byte[]>> readCommitted(String topic) {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
            List<PartitionInfo> partitions = consumer.listTopics(Duration.ofSeconds(30)).get(topic);
            if (partitions == null) {
                return out;
            }
            for (PartitionInfo info : partitions.stream().sorted(Comparator.comparingInt(PartitionInfo::partition)).toList()) {
                TopicPartition tp = new TopicPartition(topic, info.partition());
                consumer.assign(List.of(tp));
                consumer.seekToBeginning(List.of(tp));
                long end = consumer.endOffsets(List.of(tp)).get(tp);
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (consumer.position(tp) < end) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("reading " + tp + " did not reach offset " + end + " within 60 s");
                    }
                    consumer.poll(Duration.ofMillis(200)).forEach(out::add);
                }
            }
            return out;
        }
    }

    /** Whether the broker process runs. */
    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Starts the stopped broker again on the same port and data; returns once it answers. */
    public synchronized void restart() {
        stop();
        startBroker();
    }

    /** Starts a broker that was stopped or killed, on the same port and data. No-op if it runs. */
    public synchronized void resume() {
        if (!isRunning()) {
            startBroker();
        }
    }

    /** SIGTERM: the broker shuts down in order (at most 30 s, then SIGKILL). The data stays. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                LOG.warn("Kafka broker on port {} did not stop within 30 s after SIGTERM; killing it", port);
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        process = null;
        RUNNING.remove(this);
    }

    /** SIGKILL: the broker dies at once, as in a power cut of its process. The data stays. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
        RUNNING.remove(this);
    }

    /** The broker's console output so far (its own log at WARN, start and stop at INFO). */
    public String log() {
        try {
            return Files.exists(brokerLog) ? Files.readString(brokerLog) : "";
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /** Stops the broker and deletes its folder. */
    @Override
    public synchronized void close() {
        stop();
        deleteFolder();
    }

    private void deleteFolder() {
        try (Stream<Path> walk = Files.walk(baseDir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            LOG.debug("could not delete {}", baseDir, e);
        }
    }

    private void format() {
        // a cluster id is 16 random bytes in URL-safe base64 without padding, as Kafka's Uuid prints it
        byte[] id = new byte[16];
        new SecureRandom().nextBytes(id);
        String clusterId = Base64.getUrlEncoder().withoutPadding().encodeToString(id);
        // "--cluster-id=": an id starting with '-' (1 in 64) would be taken for an option after "-t"
        Process format = launch("kafka.tools.StorageTool", List.of("format", "--cluster-id=" + clusterId, "-c",
                config.toString()),
                baseDir.resolve("format.log"));
        try {
            if (!format.waitFor(90, TimeUnit.SECONDS) || format.exitValue() != 0) {
                format.destroyForcibly();
                throw new IllegalStateException("kafka-storage format failed: "
                        + Files.readString(baseDir.resolve("format.log")));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while formatting Kafka's storage", e);
        }
    }

    private synchronized void startBroker() {
        process = launch("kafka.Kafka", List.of(config.toString()), brokerLog);
        RUNNING.add(this);
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        Map<String, Object> admin = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000);
        while (true) {
            if (!process.isAlive()) {
                RUNNING.remove(this);
                throw new IllegalStateException("the Kafka broker exited with " + process.exitValue() + " while starting: "
                        + log());
            }
            if (System.nanoTime() > deadline) {
                kill();
                throw new IllegalStateException("the Kafka broker did not become ready within " + READY_TIMEOUT.toSeconds()
                        + " s: " + log());
            }
            if (!listening()) {
                // the client logs a warning per refused connection: ask it only once the port is open
                sleep(200);
                continue;
            }
            try (Admin a = Admin.create(admin)) {
                // the broker is ready once it is registered with the controller and lists itself
                if (!a.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) {
                    a.listTopics().names().get(3, TimeUnit.SECONDS);
                    LOG.info("Kafka broker ready at {} (data in {})", bootstrapServers(), baseDir);
                    return;
                }
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for the Kafka broker", e);
                }
                // not up yet
            }
            sleep(200);
        }
    }

    private boolean listening() {
        if (!process.isAlive()) {
            return false;
        }
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress(HOST, port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs a main class of Kafka's jars in a child JVM with this JVM's class path. */
    private Process launch(String mainClass, List<String> args, Path output) {
        try {
            Class.forName(mainClass, false, TestingKafka.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("TestingKafka needs Kafka's server jars on the class path: add "
                    + "org.apache.kafka:kafka_2.13 as a test dependency", e);
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions);
        command.addAll(List.of("-Dlogback.configurationFile=" + baseDir.resolve("logback.xml"),
                "-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(args);
        try {
            return new ProcessBuilder(command).directory(baseDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()))
                    .redirectInput(new File("/dev/null")).start();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start a JVM for " + mainClass, e);
        }
    }

    private static int[] freePorts(int n) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST));
                s.setReuseAddress(true);
                sockets.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : sockets) {
                s.close();
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public String toString() {
        return "TestingKafka[" + bootstrapServers() + ", " + baseDir + "]";
    }
}
