package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.DuckDbMirrorVerifier;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DuckDB sink in a child {@code ferry run}, killed with SIGKILL at random moments (the first kill
 * inside the initial snapshot) while a mixed workload writes; then the mirror is compared with the
 * source row by row and the history is checked for duplicates (each Log offset and each source
 * position once). While a run holds the DuckDB file, {@code ferry check} names the process and
 * {@code ferry status} says the sink's offset is unknown, and why.
 * The seed is printed; {@code -Dferry.seed=N} replays a run, {@code -Dferry.duckdb.kills=N} raises the kills.
 */
class DuckDbCrashRecoveryIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("public.customers", "public.products", "public.transactions");

    @TempDir
    Path dir;

    @Test
    void mirrorEqualsTheSourceAndHistoryHasNoDuplicateAfterRepeatedSigkill() throws Exception {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        int minKills = Integer.getInteger("ferry.duckdb.kills", 8);
        System.out.println("DuckDbCrashRecoveryIT seed: " + seed + " (replay with -Dferry.seed=" + seed + "), kills >= " + minKills);
        Random random = new Random(seed);
        String db = "duckcrash";
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, seed).seed(2_000, 100, 30_000);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture(db, db);
        JsonlPipelineFile.write(dir, pg, db, role, List.of("type: duckdb", "path: out/warehouse.duckdb", "history: true",
                "memory_limit_mb: 128"));
        Map<String, String> env = JsonlPipelineFile.env(role);

        AtomicLong changes = new AtomicLong();
        AtomicReference<Throwable> workloadFailure = new AtomicReference<>();
        AtomicBoolean keepWriting = new AtomicBoolean(true);
        Thread workload = new Thread(() -> {
            try (Connection c = pg.connect(db)) {
                ShopWorkload w = new ShopWorkload(c, seed + 1);
                while (keepWriting.get()) {
                    w.run(50);
                    changes.set(w.changes());
                    Thread.sleep(20);
                }
            } catch (Throwable t) {
                workloadFailure.set(t);
            }
        }, "workload");
        workload.start();

        int kills = 0;
        FerryProcess first = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");
        Thread.sleep(1500 + random.nextInt(400));
        first.kill();
        kills++;
        boolean checkedLock = false;
        while (kills < minKills) {
            FerryProcess p = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");
            if (kills == 1) {
                // let one run finish the snapshot, which starts over after each kill inside it, so that
                // the later kills land in the stream
                long deadline = System.currentTimeMillis() + 120_000;
                while (!p.stderr().contains("Snapshot finished") && System.currentTimeMillis() < deadline && p.isAlive()) {
                    Thread.sleep(100);
                }
            }
            Thread.sleep(1500 + random.nextInt(2500));
            assertThat(p.isAlive()).as("ferry died on its own: " + p.stderr()).isTrue();
            if (!checkedLock) {
                // DuckDB lets one process write a file: check says which one holds it
                FerryProcess check = FerryProcess.start(dir, env, "check", "-c", "pipeline.yaml");
                check.waitFor();
                assertThat(check.stdout() + check.stderr()).contains("another process holds it").contains("PID");
                // status shows what it can, and says why the sink's offset is unknown
                FerryProcess status = FerryProcess.start(dir, env, "status", "-c", "pipeline.yaml");
                assertThat(status.waitFor()).as(status.stderr()).isEqualTo(0);
                assertThat(status.stdout()).contains("sink duckdb").contains("unknown: Cannot open the DuckDB file");
                checkedLock = true;
            }
            p.kill();
            kills++;
            assertThat(workloadFailure.get()).isNull();
        }
        keepWriting.set(false);
        workload.join();
        assertThat(workloadFailure.get()).isNull();

        FerryProcess finish = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        ReplayVerifier.Result result;
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:" + dir.resolve("out/warehouse.duckdb"));
             Connection source = pg.connect(db)) {
            result = DuckDbMirrorVerifier.verify(duck, source, TABLES);
            try (Statement s = duck.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM public.transactions__history "
                    + "WHERE _ferry_op IN ('c', 'u', 'd')")) {
                rs.next();
                assertThat(rs.getLong(1)).as("streamed changes in the history").isGreaterThan(0);
            }
        }
        System.out.println("DuckDbCrashRecoveryIT: " + kills + " kills, " + changes.get() + " workload changes; replay: " + result);
        assertThat(result.problems()).isEmpty();
        // the workload starts before the slot exists: its first changes may be in the snapshot instead
        assertThat(result.events()).isGreaterThan(32_100);
    }
}
