package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivateKafka;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TableComparison;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

    @Test
    void twoSinkWorkersSplitThePartitionsAndTheSurvivorTakesOverWithNothingLostOrDuplicated() throws Exception {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        System.out.println("KafkaLogScaleOutIT seed: " + seed + " (replay with -Dferry.seed=" + seed + ")");
        String db = "scale";
        pg.createDatabase(db);
        pg.createDatabase("warehouse");
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, seed).seed(500, 50, 2_000);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture(db, db);
        List<String> lines = new ArrayList<>(JsonlPipelineFile.warehouseSink(pg));
        lines.addAll(List.of("log:", "  type: kafka", "  bootstrap_servers: " + KAFKA.broker().bootstrapServers(),
                "  partitions: 4", "  properties: {session.timeout.ms: 6000, heartbeat.interval.ms: 500, max.block.ms: 10000}"));
        JsonlPipelineFile.write(dir, pg, db, role.user(), lines);
        Map<String, String> env = JsonlPipelineFile.warehouseEnv(pg, role);

        List<FerryProcess> started = new ArrayList<>();
        try {
            // the workers may start first: they wait for the capture to create the Log's topic
            FerryProcess first = start(started, env, "--role", "sinks");
            FerryProcess second = start(started, env, "--role", "sinks");
            assertThat(first.awaitLog(START, "waiting for the capture")).as(first.stderr()).isTrue();
            FerryProcess capture = start(started, env, "--role", "capture");
            BackgroundWorkload workload = BackgroundWorkload.start(pg, db, seed + 1, 1_500);
            String assigned = "assigned to this worker";
            assertThat(first.awaitLog(START, assigned)).as(first.stderr()).isTrue();
            assertThat(second.awaitLog(START, assigned)).as(second.stderr()).isTrue();
            // both deliver: every partition's offset row moves, and each worker holds some partitions
            awaitDeliveryInEveryPartition(db);
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
            awaitMirrorsEqualTheSource(db);
            checkHistories(db);
            System.out.println("KafkaLogScaleOutIT: " + workload.changes() + " workload changes");
            first.terminate();
            assertThat(first.waitFor()).as(first.stderr()).isEqualTo(0);
            assertThat(first.stderr()).contains("partition 0 revoked");
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

    private void awaitDeliveryInEveryPartition(String db) throws Exception {
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
        long deadline = System.nanoTime() + START.toNanos();
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

    private void checkHistories(String db) throws Exception {
        try (Connection warehouse = pg.connect("warehouse")) {
            for (String table : TABLES) {
                WarehouseHistory.requireEachChangeOnce(warehouse, db, table);
            }
        }
    }
}
