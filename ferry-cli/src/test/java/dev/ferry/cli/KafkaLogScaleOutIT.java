package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.KafkaTopicsReplay;
import dev.ferry.testkit.PrivateKafka;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TableComparison;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scale-out on the Kafka Log: one {@code ferry run --role capture} process appends PostgreSQL's
 * changes to a Log of 4 partitions, two {@code ferry run --role sinks} processes share the partitions
 * through their consumer group and deliver them to a postgres warehouse. While a workload writes,
 * the second worker is killed with SIGKILL; the first takes its partitions over (after the group's
 * {@code session.timeout.ms}, 6 s here) from the offsets the warehouse committed. Afterwards each
 * mirror equals its source table row by row (nothing lost), each history holds every change once (no
 * position twice: nothing duplicated), and the last change of each key in the history agrees with
 * the mirror (order per key).
 */
class KafkaLogScaleOutIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("customers", "products", "transactions");
    private static final Duration START = Duration.ofSeconds(90);
    @RegisterExtension
    static final PrivateKafka KAFKA = new PrivateKafka();

    @TempDir
    Path dir;

    @BeforeAll
    static void createWarehouse() {
        pg.createDatabase("warehouse");
    }

    /**
     * {@code ferry run -c FILE} without {@code --role} on a Log of several partitions: the capture and one
     * sink worker in one process, which takes every partition; SIGTERM stops both with exit 0, and the
     * worker first delivers what the Log holds: at the signal each partition's sinks are thousands of
     * events behind (a large transaction appended while the warehouse holds their writes on a lock), and
     * after it, without a restart, nothing is behind and each mirror equals its source.
     */
    @Test
    void oneProcessWithoutARoleRunsTheCaptureAndAWorkerOfEveryPartition() throws Exception {
        long seed = seed();
        String db = "together";
        TestingPostgres.CaptureRole role = source(db, seed);
        List<String> lines = new ArrayList<>(JsonlPipelineFile.warehouseSink(pg));
        lines.addAll(logLines());
        JsonlPipelineFile.write(dir, pg, db, role.user(), lines);
        withProcesses(started -> {
            FerryProcess both = start(started, JsonlPipelineFile.warehouseEnv(pg, role));
            BackgroundWorkload workload = BackgroundWorkload.start(pg, db, seed + 1, 500);
            assertThat(both.awaitLog(START, "partitions here now: [0, 1, 2, 3]")).as(both.stderr()).isTrue();
            everyOffsetRowMoved(db);
            workload.finish();
            awaitMirrorsEqualTheSource(db);
            checkHistories(db);
            // ferry status reads the Log, the workers' group and each sink's offset per partition
            String status = status(role);
            assertThat(status).contains("ferry." + db + ".log (4 partitions)")
                    .contains("ferry." + db + ".sinks (stable, 1 worker)").contains("partitions [0, 1, 2, 3]")
                    .contains("partition 3 ").contains("sink postgres.p0").contains("sink postgres.p3")
                    .doesNotContain("none yet");
            assertThat(behind(status)).as("the source is quiet and its mirrors are equal: all delivered\n" + status)
                    .isZero();
            System.out.println("KafkaLogScaleOutIT: ferry status:\n" + status);

            // SIGTERM while every partition's sinks are well behind the Log: the warehouse's offsets table is
            // locked (reads go on), so each sink's next write waits for it; a large transaction goes into the
            // Log behind those writes; the signal comes, and only once the worker says it drains does the lock
            // go. Without the drain each sink stops after its waiting write, with thousands of events undelivered.
            try (Connection lock = pg.connect("warehouse"); Statement st = lock.createStatement();
                 Connection source = pg.connect(db)) {
                lock.setAutoCommit(false);
                st.execute("LOCK TABLE " + db + "._ferry_offsets IN EXCLUSIVE MODE");
                ShopWorkload changes = new ShopWorkload(source, seed + 2);
                long deadline = System.nanoTime() + START.toNanos();
                while (writesWaitingFor(st, db + "._ferry_offsets") < 4) {
                    assertThat(System.nanoTime()).as("a write of every partition waits for the lock").isLessThan(deadline);
                    changes.run(10);
                    Thread.sleep(100);
                }
                changes.bigTransaction(20_000);
                // the capture appended all of it: the sinks' offsets cannot move, so the Log's ends tell
                String held = status(role);
                while (behind(held) < changes.changes()) {
                    assertThat(System.nanoTime()).as("the capture appends the large transaction: " + held)
                            .isLessThan(deadline);
                    held = status(role);
                }
                assertThat(behind(held)).as(held).isEqualTo(changes.changes());
                System.out.println("KafkaLogScaleOutIT: at the signal, " + changes.changes() + " events behind:\n" + held);
                both.terminate();
                assertThat(both.awaitLog(START, "stopping: partitions [0, 1, 2, 3] deliver")).as(both.stderr()).isTrue();
                lock.rollback();
            }
            assertThat(both.waitFor()).as(both.stderr()).isEqualTo(0);
            assertThat(both.stderr()).contains("partition 3 revoked")
                    .as("the drain ran out of its time (a slow machine, not a missing drain)")
                    .doesNotContain("still to deliver; they stay in the Log");
            String after = status(role);
            assertThat(after).as("every partition delivered up to its end").contains("behind the Log");
            assertThat(behind(after)).as(after).isZero();
            // and without a restart: the process has exited, so one look, no waiting
            awaitMirrorsEqualTheSource(db, Duration.ZERO);
            checkHistories(db);
        });
    }

    @Test
    void twoSinkWorkersSplitThePartitionsAndTheSurvivorTakesOverWithNothingLostOrDuplicated() throws Exception {
        long seed = seed();
        String db = "scale";
        TestingPostgres.CaptureRole role = source(db, seed);
        List<String> lines = new ArrayList<>(JsonlPipelineFile.warehouseSink(pg));
        lines.addAll(logLines());
        JsonlPipelineFile.write(dir, pg, db, role.user(), lines);
        scaleOut(db, JsonlPipelineFile.warehouseEnv(pg, role), seed, () -> everyOffsetRowMoved(db), () -> {
            awaitMirrorsEqualTheSource(db);
            checkHistories(db);
        });
    }

    /**
     * The same with the kafka sink: each worker's sink of a partition writes in transactions of its own
     * transactional id ({@code <id>/<partition>}), which commit the partition's offset with its records;
     * a {@code read_committed} consumer of the tables' topics then sees every change once, and applied by
     * key they equal the source (the last change of each key last).
     */
    @Test
    void twoSinkWorkersWriteToAKafkaSinkExactlyOnceInOrderPerKey() throws Exception {
        long seed = seed();
        String db = "kscale";
        TestingPostgres.CaptureRole role = source(db, seed);
        List<String> lines = new ArrayList<>(List.of("sink:", "  type: kafka",
                "  bootstrap_servers: " + KAFKA.broker().bootstrapServers(), "  transaction_timeout_ms: 20000",
                "  properties: {max.block.ms: 10000, request.timeout.ms: 5000, delivery.timeout.ms: 15000}"));
        lines.addAll(logLines());
        JsonlPipelineFile.write(dir, pg, db, role.user(), lines);
        scaleOut(db, Map.of("PW", role.password()), seed, () -> everyPartitionCommittedToKafka(db), () -> {
            long deadline = System.nanoTime() + START.toNanos();
            while (true) {
                KafkaTopicsReplay.Result r;
                try (Connection c = pg.connect(db)) {
                    r = KafkaTopicsReplay.verify(KAFKA.broker(), db, TABLES.stream().map(t -> "public." + t).toList(),
                            Files.createTempDirectory(dir, "replay"), c);
                }
                if (r.replay().ok()) {
                    System.out.println("KafkaLogScaleOutIT (kafka sink): " + r);
                    return;
                }
                assertThat(System.nanoTime()).as(r.replay().toString()).isLessThan(deadline);
                Thread.sleep(1000);
            }
        });
    }

    private static long seed() {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        System.out.println("KafkaLogScaleOutIT seed: " + seed + " (replay with -Dferry.seed=" + seed + ")");
        return seed;
    }

    /** The source database {@code db} with the shop's tables and rows, and a role to capture it. */
    private TestingPostgres.CaptureRole source(String db, long seed) throws Exception {
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, seed).seed(500, 50, 2_000);
        }
        return pg.grantCapture(db, db);
    }

    private static List<String> logLines() {
        return List.of("log:", "  type: kafka", "  bootstrap_servers: " + KAFKA.broker().bootstrapServers(),
                "  partitions: 4", "  properties: {session.timeout.ms: 6000, heartbeat.interval.ms: 500, max.block.ms: 10000}");
    }

    /** Something that waits until a condition holds (or fails the test). */
    private interface Check {
        void run() throws Exception;
    }

    /**
     * Two workers (started first: they wait for the capture to create the Log's topic), then the
     * capture and a workload; once both workers deliver ({@code everyPartitionDelivered}), the second is
     * killed and the first takes every partition; then {@code verify} once the workload is done, and the
     * survivor stops on SIGTERM.
     */
    private void scaleOut(String db, Map<String, String> env, long seed, Check everyPartitionDelivered, Check verify)
            throws Exception {
        withProcesses(started -> {
            FerryProcess first = start(started, env, "--role", "sinks");
            FerryProcess second = start(started, env, "--role", "sinks");
            assertThat(first.awaitLog(START, "waiting for the capture")).as(first.stderr()).isTrue();
            FerryProcess capture = start(started, env, "--role", "capture");
            BackgroundWorkload workload = BackgroundWorkload.start(pg, db, seed + 1, 1_500);
            String assigned = "assigned to this worker";
            assertThat(first.awaitLog(START, assigned)).as(first.stderr()).isTrue();
            assertThat(second.awaitLog(START, assigned)).as(second.stderr()).isTrue();
            // both deliver: every partition's offset moves, and each worker holds some partitions
            everyPartitionDelivered.run();
            assertThat(lastHeld(first.stderr())).as(first.stderr()).isNotEmpty().hasSizeLessThan(4);
            assertThat(lastHeld(second.stderr())).as(second.stderr()).isNotEmpty().hasSizeLessThan(4);

            int logBeforeKill = first.stderr().length();
            second.kill();
            long deadline = System.nanoTime() + START.toNanos();
            while (!first.stderr().substring(logBeforeKill).contains("partitions here now: [0, 1, 2, 3]")) {
                assertThat(System.nanoTime()).as("the survivor takes every partition: " + first.stderr()).isLessThan(deadline);
                assertThat(first.isAlive() && capture.isAlive()).as(first.stderr() + capture.stderr()).isTrue();
                Thread.sleep(100);
            }
            workload.finish();
            verify.run();
            System.out.println("KafkaLogScaleOutIT: " + workload.changes() + " workload changes");
            first.terminate();
            assertThat(first.waitFor()).as(first.stderr()).isEqualTo(0);
            assertThat(first.stderr()).contains("partition 0 revoked");
        });
    }

    /** What a test does with the Ferry processes it starts (into {@code started}). */
    private interface WithProcesses {
        void run(List<FerryProcess> started) throws Exception;
    }

    /** Runs {@code body}; prints the logs of the processes it started when it fails, and kills them all after. */
    private static void withProcesses(WithProcesses body) throws Exception {
        List<FerryProcess> started = new ArrayList<>();
        try {
            body.run(started);
        } catch (Throwable t) {
            for (FerryProcess p : started) {
                System.out.println("KafkaLogScaleOutIT: a ferry process's log:\n" + p.stderr());
            }
            throw t;
        } finally {
            for (FerryProcess p : started) {
                p.kill();
            }
        }
    }

    private FerryProcess start(List<FerryProcess> started, Map<String, String> env, String... role) throws Exception {
        List<String> args = new ArrayList<>(List.of("run", "-c", "pipeline.yaml"));
        args.addAll(List.of(role));
        FerryProcess p = FerryProcess.start(dir, env, args.toArray(String[]::new));
        started.add(p);
        return p;
    }

    /** The partitions a worker said it held last, from its log. */
    private static List<String> lastHeld(String log) {
        int at = log.lastIndexOf("partitions here now: [");
        if (at < 0) {
            return List.of();
        }
        String list = log.substring(at + "partitions here now: [".length(), log.indexOf(']', at));
        return list.isBlank() ? List.of() : List.of(list.split(", "));
    }

    /** Waits until each partition's sink committed a transaction: the groups {@code <transactional_id>/<p>}. */
    private static void everyPartitionCommittedToKafka(String db) throws Exception {
        long deadline = System.nanoTime() + START.toNanos();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                KAFKA.broker().bootstrapServers()))) {
            for (int p = 0; p < 4; p++) {
                while (admin.listConsumerGroupOffsets("ferry." + db + "." + db + "/" + p).partitionsToOffsetAndMetadata()
                        .get(30, TimeUnit.SECONDS).isEmpty()) {
                    assertThat(System.nanoTime()).as("partition " + p + " delivered to Kafka").isLessThan(deadline);
                    Thread.sleep(200);
                }
            }
        }
    }

    private void everyOffsetRowMoved(String db) throws Exception {
        long deadline = System.nanoTime() + START.toNanos();
        try (Connection warehouse = pg.connect("warehouse"); Statement st = warehouse.createStatement()) {
            while (true) {
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + db + "._ferry_offsets WHERE \"offset\" >= 0")) {
                    rs.next();
                    if (rs.getLong(1) == 4) {
                        return;
                    }
                } catch (java.sql.SQLException e) {
                    // the sinks have not made their tables yet
                }
                assertThat(System.nanoTime()).as("every partition delivered").isLessThan(deadline);
                Thread.sleep(200);
            }
        }
    }

    private void awaitMirrorsEqualTheSource(String db) throws Exception {
        awaitMirrorsEqualTheSource(db, START);
    }

    /** Waits until each mirror equals its source table, for at most {@code within} (zero: one look). */
    private void awaitMirrorsEqualTheSource(String db, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        try (Connection source = pg.connect(db); Connection warehouse = pg.connect("warehouse")) {
            for (String table : TABLES) {
                while (true) {
                    TableComparison.Result r = TableComparison.compare(source, "public." + table, warehouse, db + "." + table);
                    if (r.problems().isEmpty()) {
                        System.out.println("KafkaLogScaleOutIT: " + r);
                        break;
                    }
                    assertThat(System.nanoTime()).as(r.toString()).isLessThan(deadline);
                    Thread.sleep(500);
                }
            }
        }
    }

    /** What {@code ferry status} prints (it must succeed). */
    private String status(TestingPostgres.CaptureRole role) throws Exception {
        FerryProcess status = FerryProcess.start(dir, JsonlPipelineFile.warehouseEnv(pg, role), "status", "-c",
                "pipeline.yaml");
        assertThat(status.waitFor()).as(status.stdout() + status.stderr()).isEqualTo(0);
        return status.stdout();
    }

    /** The events all sinks together are behind the Log, by {@code ferry status}. */
    private static long behind(String status) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("behind the Log +([0-9,]+) events").matcher(status);
        long sum = 0;
        int sinks = 0;
        while (m.find()) {
            sum += Long.parseLong(m.group(1).replace(",", ""));
            sinks++;
        }
        assertThat(sinks).as("a line per partition's sink\n" + status).isEqualTo(4);
        return sum;
    }

    /** The writes that wait for a lock on {@code table} (the statement's connection is in its database). */
    private static long writesWaitingFor(Statement st, String table) throws Exception {
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = '" + table
                + "'::regclass AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private void checkHistories(String db) throws Exception {
        try (Connection warehouse = pg.connect("warehouse")) {
            for (String table : TABLES) {
                WarehouseHistory.requireEachChangeOnce(warehouse, db, table);
            }
        }
    }
}
