package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine as a child process, killed with SIGKILL at random moments (the first kill inside the
 * initial snapshot) while a mixed workload writes; then the replay check compares the JSONL output
 * with the source, row by row, and proves no event is lost or duplicated. The seed is printed; set
 * {@code -Dferry.seed=N} to replay a run.
 *
 * <p>Ferry runs as a role with only LOGIN, REPLICATION and SELECT on the tables (see TestingPostgres.grantCapture).
 */
class CrashRecoveryIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("public.customers", "public.products", "public.transactions");

    @TempDir
    Path dir;
    private TestingPostgres.CaptureRole role;

    private void writePipeline(String db) throws Exception {
        role = pg.grantCapture(db, db);
        JsonlPipelineFile.write(dir, pg, db, role);
    }

    private Map<String, String> env() {
        return JsonlPipelineFile.env(role);
    }

    /**
     * At least {@code ferry.kills} (default 25) SIGKILLs while a workload makes at least
     * {@code ferry.changes} (default 100,000) changes: multi-row inserts, updates, deletes, and one
     * transaction of 50,000 inserts plus 5,000 updates. The soak command raises both.
     */
    @Test
    void survivesRepeatedSigkillWithoutLosingOrDuplicatingAChange() throws Exception {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        int minKills = Integer.getInteger("ferry.kills", 25);
        long minChanges = Long.getLong("ferry.changes", 100_000);
        System.out.println("CrashRecoveryIT seed: " + seed + " (replay with -Dferry.seed=" + seed + "), kills >= "
                + minKills + ", changes >= " + minChanges);
        Random random = new Random(seed);
        String db = "crash";
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, seed).seed(2_000, 100, 30_000);
        }
        writePipeline(db);

        AtomicLong changes = new AtomicLong();
        AtomicReference<Throwable> workloadFailure = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean keepWriting = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread workload = new Thread(() -> {
            try (Connection c = pg.connect(db)) {
                ShopWorkload w = new ShopWorkload(c, seed + 1);
                boolean big = false;
                while (w.changes() < minChanges || keepWriting.get()) {
                    if (!big && w.changes() > minChanges / 3) {
                        w.bigTransaction(50_000);
                        big = true;
                    }
                    w.run(50);
                    changes.set(w.changes());
                    if (w.changes() >= minChanges) {
                        Thread.sleep(50); // idle trickle until the kills are done
                    }
                }
            } catch (Throwable t) {
                workloadFailure.set(t);
            }
        }, "workload");
        workload.start();

        // the first kill lands inside the initial snapshot of 32,100 rows
        int kills = FerryProcess.killRepeatedly(dir, env(), random, minKills, () -> changes.get() >= minChanges,
                () -> assertThat(workloadFailure.get()).isNull());
        keepWriting.set(false);
        workload.join();
        assertThat(workloadFailure.get()).isNull();

        FerryProcess finish = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        ReplayVerifier.Result result;
        try (Connection c = pg.connect(db)) {
            result = ReplayVerifier.verify(dir.resolve("out"), c, TABLES);
        }
        System.out.println("CrashRecoveryIT: " + kills + " kills, " + changes.get() + " workload changes; replay: " + result);
        assertThat(result.problems()).isEmpty();
        assertThat(changes.get()).isGreaterThanOrEqualTo(minChanges);
        assertThat(kills).isGreaterThanOrEqualTo(minKills);
        assertThat(result.events()).isGreaterThanOrEqualTo(minChanges);

        // a second batch run finds nothing new and changes nothing
        long files = countFiles(dir.resolve("out"));
        FerryProcess again = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(again.waitFor()).as(again.stderr()).isEqualTo(0);
        assertThat(countFiles(dir.resolve("out"))).isEqualTo(files);
    }

    @Test
    void sigtermDrainsAndCommitsThenExitsZero() throws Exception {
        String db = "term";
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, 7).seed(100, 10, 1_000);
        }
        writePipeline(db);
        FerryProcess p = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml");
        // a SIGTERM before the JVM has started the pipeline ends it with 143, which is not what this tests
        assertThat(p.awaitLog(java.time.Duration.ofSeconds(60), "Streaming changes from slot")).as(p.stderr()).isTrue();
        try (Connection c = pg.connect(db)) {
            new ShopWorkload(c, 8).run(300);
        }
        Thread.sleep(2000);
        p.terminate();
        assertThat(p.waitFor()).as(p.stderr()).isEqualTo(0);
        assertThat(p.stderr()).contains("stopped");
        ReplayVerifier.Result result;
        try (Connection c = pg.connect(db)) {
            result = ReplayVerifier.verify(dir.resolve("out"), c, TABLES);
        }
        assertThat(result.problems()).isEmpty();

        // status reads the slot, the Log and the sink while nothing runs
        FerryProcess status = FerryProcess.start(dir, env(), "status", "-c", "pipeline.yaml");
        assertThat(status.waitFor()).as(status.stderr()).isEqualTo(0);
        assertThat(status.stdout()).contains("slot ferry_term").contains("inactive").contains("confirmed flush LSN")
                .contains("WAL retained by the slot").contains("last position").contains("sink jsonl")
                .contains("behind the Log               0 events");
    }

    private static long countFiles(Path root) throws Exception {
        try (var walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".jsonl")).count();
        }
    }
}
