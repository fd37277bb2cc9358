package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TableComparison;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The postgres sink under SIGKILL: {@code ferry run} as a child process, killed at random moments
 * (the first inside the initial snapshot) while a mixed workload writes, into a warehouse database
 * on the same private server. Afterwards each mirror equals its source table row by row, each
 * history holds every change once (no position twice), and the last change of each key in the
 * history agrees with the mirror. {@code -Dferry.seed=N} replays a run; {@code -Dferry.kills=N}
 * (default 8) and {@code -Dferry.changes=N} (default 2,000) make it longer.
 */
class PostgresSinkCrashIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("customers", "products", "transactions");

    @TempDir
    Path dir;

    @Test
    void survivesRepeatedSigkillWithMirrorsEqualAndNoDuplicateInHistory() throws Exception {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        int minKills = Integer.getInteger("ferry.kills", 8);
        long minChanges = Long.getLong("ferry.changes", 2_000);
        System.out.println("PostgresSinkCrashIT seed: " + seed + " (replay with -Dferry.seed=" + seed + ")");
        Random random = new Random(seed);
        String db = "pgcrash";
        pg.createDatabase(db);
        pg.createDatabase("warehouse");
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, seed).seed(2_000, 100, 30_000);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture(db, db);
        JsonlPipelineFile.write(dir, pg, db, role.user(), JsonlPipelineFile.warehouseSink(pg));
        Map<String, String> env = JsonlPipelineFile.warehouseEnv(pg, role);

        FerryProcess check = FerryProcess.start(dir, env, "check", "-c", "pipeline.yaml");
        assertThat(check.waitFor()).as(check.stdout() + check.stderr()).isEqualTo(0);
        assertThat(check.stdout() + check.stderr()).contains("warehouse").doesNotContain(pg.password());

        AtomicReference<Throwable> workloadFailure = new AtomicReference<>();
        AtomicBoolean keepWriting = new AtomicBoolean(true);
        long[] changes = {0};
        Thread workload = new Thread(() -> {
            try (Connection c = pg.connect(db)) {
                ShopWorkload w = new ShopWorkload(c, seed + 1);
                while (w.changes() < minChanges || keepWriting.get()) {
                    w.run(50);
                    changes[0] = w.changes();
                    if (w.changes() >= minChanges) {
                        Thread.sleep(50);
                    }
                }
            } catch (Throwable t) {
                workloadFailure.set(t);
            }
        }, "workload");
        workload.start();

        int kills = FerryProcess.killRepeatedly(dir, env, random, minKills, () -> changes[0] >= minChanges,
                () -> assertThat(workloadFailure.get()).isNull());
        keepWriting.set(false);
        workload.join();
        assertThat(workloadFailure.get()).isNull();

        FerryProcess finish = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        try (Connection source = pg.connect(db); Connection warehouse = pg.connect("warehouse")) {
            for (String table : TABLES) {
                TableComparison.Result r = TableComparison.compare(source, "public." + table, warehouse, db + "." + table);
                System.out.println("PostgresSinkCrashIT: " + r);
                assertThat(r.problems()).as(r.toString()).isEmpty();
                WarehouseHistory.requireEachChangeOnce(warehouse, db, table);
            }
        }
        System.out.println("PostgresSinkCrashIT: " + kills + " kills, " + changes[0] + " workload changes");
        assertThat(kills).isGreaterThanOrEqualTo(minKills);
    }
}
