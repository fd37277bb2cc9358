package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivateKafka;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.KafkaTopicsReplay;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A private PostgreSQL into a private Kafka broker through the {@code kafka} sink, with Ferry as a
 * child process killed with SIGKILL at random moments (the first kill inside the initial snapshot)
 * and the broker restarted once under it, while a mixed workload writes. Then a {@code read_committed}
 * consumer reads every table's topic and the replay check applies the envelopes by key: the result
 * equals the source table row by row, each source position appears once (nothing duplicated), and
 * every transaction's events are all there (nothing lost). One partition per topic, so the topic's
 * order is the order per key.
 *
 * <p>By default at least {@code ferry.kafka.kills} (4) kills during {@code ferry.kafka.changes}
 * (10,000) changes; {@code -Dferry.kafka.changes=100000 -Dferry.kafka.kills=25} is the issue's
 * full version. The seed is printed; {@code -Dferry.seed=N} replays a run.
 */
class KafkaCrashRecoveryIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("public.customers", "public.products", "public.transactions");
    @RegisterExtension
    static final PrivateKafka KAFKA = new PrivateKafka();

    @TempDir
    Path dir;

    @Test
    void survivesSigkillsAndABrokerRestartWithoutLosingOrDuplicatingAChange() throws Exception {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        int minKills = Integer.getInteger("ferry.kafka.kills", 4);
        long minChanges = Long.getLong("ferry.kafka.changes", 10_000);
        System.out.println("KafkaCrashRecoveryIT seed: " + seed + " (replay with -Dferry.seed=" + seed + "), kills >= "
                + minKills + ", changes >= " + minChanges);
        Random random = new Random(seed);
        String db = "kcrash";
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, seed).seed(1_000, 50, 10_000);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture(db, db);
        writePipeline(db, role.user());
        Map<String, String> env = Map.of("PW", role.password());

        AtomicLong changes = new AtomicLong();
        AtomicReference<Throwable> workloadFailure = new AtomicReference<>();
        AtomicBoolean keepWriting = new AtomicBoolean(true);
        Thread workload = new Thread(() -> {
            try (Connection c = pg.connect(db)) {
                ShopWorkload w = new ShopWorkload(c, seed + 1);
                while (w.changes() < minChanges || keepWriting.get()) {
                    w.run(20);
                    changes.set(w.changes());
                    Thread.sleep(w.changes() >= minChanges ? 50 : 5);
                }
            } catch (Throwable t) {
                workloadFailure.set(t);
            }
        }, "workload");
        workload.start();

        int kills = 0;
        FerryProcess first = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");
        Thread.sleep(1500 + random.nextInt(500)); // inside the initial snapshot of 11,050 rows
        first.kill();
        kills++;
        boolean brokerRestarted = false;
        boolean snapshotDelivered = false;
        while (changes.get() < minChanges || kills < minKills || !brokerRestarted) {
            FerryProcess p = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");
            if (!snapshotDelivered) {
                // the snapshot (11,050 rows and what the workload added before it) must get through once,
                // so that the kills that follow land in streaming and not in snapshots taken again
                awaitCommittedOffset("ferry." + db + "." + db, 11_050, p);
                snapshotDelivered = true;
            }
            Thread.sleep(1500 + random.nextInt(3000));
            if (!brokerRestarted && kills >= minKills / 2) {
                // the broker goes away under a running Ferry, which retries until it is back
                KAFKA.broker().restart();
                brokerRestarted = true;
                Thread.sleep(1000);
            }
            assertThat(p.isAlive()).as("ferry died on its own: " + p.stderr()).isTrue();
            p.kill();
            kills++;
            assertThat(workloadFailure.get()).isNull();
        }
        keepWriting.set(false);
        workload.join();
        assertThat(workloadFailure.get()).isNull();

        FerryProcess finish = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        KafkaTopicsReplay.Result result;
        try (Connection c = pg.connect(db)) {
            result = KafkaTopicsReplay.verify(KAFKA.broker(), db, TABLES, dir.resolve("replay"), c);
        }
        assertThat(result.streamed()).as("changes delivered by streaming, across the kills")
                .isGreaterThanOrEqualTo(minChanges / 2);
        System.out.println("KafkaCrashRecoveryIT: " + kills + " kills, a broker restart, " + changes.get()
                + " workload changes, " + result.streamed() + " of them streamed; replay: " + result.replay());
        assertThat(result.replay().problems()).isEmpty();
        assertThat(result.replay().events()).isGreaterThanOrEqualTo(minChanges);

        // a second batch run finds nothing new and writes nothing
        long records = countRecords(db);
        FerryProcess again = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(again.waitFor()).as(again.stderr()).isEqualTo(0);
        assertThat(countRecords(db)).isEqualTo(records);
    }

    private void writePipeline(String db, String user) throws IOException {
        JsonlPipelineFile.writeWithSink(dir, pg, db, user,
                "  type: kafka",
                "  bootstrap_servers: " + KAFKA.broker().bootstrapServers(),
                "  transaction_timeout_ms: 20000",
                "  properties:",
                "    max.block.ms: 10000",
                "    request.timeout.ms: 5000",
                "    delivery.timeout.ms: 15000");
    }

    /** Waits until the sink's group has committed at least {@code offset}: its transactions are getting through. */
    private static void awaitCommittedOffset(String group, long offset, FerryProcess ferry) throws Exception {
        TopicPartition marker = new TopicPartition("_ferry_offsets", 0);
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().bootstrapServers()))) {
            while (true) {
                OffsetAndMetadata committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                        .get(30, TimeUnit.SECONDS).get(marker);
                if (committed != null && committed.offset() >= offset) {
                    return;
                }
                assertThat(ferry.isAlive()).as("ferry died on its own: " + ferry.stderr()).isTrue();
                assertThat(System.nanoTime()).as("the snapshot was not delivered within 180 s").isLessThan(deadline);
                Thread.sleep(500);
            }
        }
    }

    private long countRecords(String prefix) {
        long n = 0;
        for (String table : TABLES) {
            n += KAFKA.broker().readCommitted(prefix + "." + table).size();
        }
        return n;
    }
}
