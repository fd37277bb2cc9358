package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.FileHistoryReplay;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Parquet and CSV sinks of one child {@code ferry run}, killed with SIGKILL at random moments
 * while a mixed workload writes; then each sink's history files are replayed and compared with the
 * source row by row, and checked for duplicates (each Log offset and each streamed source position
 * once), and no {@code .tmp} file is left; the Parquet sink's mirror of each table (compacted at
 * every commit) is compared with the source too. The seed is printed; {@code -Dferry.seed=N}
 * replays a run, {@code -Dferry.files.kills=N} raises the kills (default 4, to keep the suite short).
 */
class FileSinksCrashIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("public.customers", "public.products", "public.transactions");

    @TempDir
    Path dir;

    /**
     * Ferry halted at the file sinks' commit points (FERRY_CRASH_AT): after renaming some of a batch's
     * files, and after all of them and the mirrors but before the manifest. The next run removes what
     * the halted batch left and writes it again: the histories and mirrors replay equal to the source.
     */
    @Test
    void aBatchHaltedBeforeItsManifestIsRemovedAndWrittenAgain() throws Exception {
        String db = "filepoints";
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture(db, db);
        writePipeline(db, role);
        boolean removed = false;
        int halts = 0;
        try (Connection c = pg.connect(db)) {
            ShopWorkload workload = new ShopWorkload(c, 7);
            workload.seed(200, 20, 2_000);
            for (String point : List.of("sink.before-rename:2", "sink.before-manifest:1", "sink.before-manifest:2",
                    "sink.before-rename:3", "sink.before-manifest:3")) {
                workload.run(300);
                FerryProcess p = FerryProcess.start(dir, Map.of("PW", role.password(), "FERRY_CRASH_AT", point),
                        "run", "-c", "pipeline.yaml", "--once");
                int code = p.waitFor();
                assertThat(code).as(point + "\n" + p.stderr()).isIn(0, dev.ferry.log.CrashPoints.EXIT_STATUS);
                halts += code == dev.ferry.log.CrashPoints.EXIT_STATUS ? 1 : 0;
                removed |= p.stderr().contains("did not commit before the last stop");
            }
        }
        FerryProcess finish = FerryProcess.start(dir, JsonlPipelineFile.env(role), "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        removed |= finish.stderr().contains("did not commit before the last stop");
        assertThat(halts).as("runs halted at a commit point").isGreaterThanOrEqualTo(4);
        assertThat(removed).as("a run removed the files of a batch halted before its manifest").isTrue();
        verifyAll(db, 2_220);
    }

    /** Parquet (compacting its mirror at every commit) and CSV, committing every 500 ms. */
    private void writePipeline(String db, TestingPostgres.CaptureRole role) throws java.io.IOException {
        JsonlPipelineFile.write(dir, pg, db, role.user(), List.of("sinks:",
                "  - type: parquet", "    path: out/lake", "    commit_interval_ms: 500", "    mirror: true", "    mirror_interval_ms: 0",
                "  - type: csv", "    path: out/csv", "    partition: hour", "    commit_interval_ms: 500"));
    }

    @Test
    void historiesReplayEqualToTheSourceWithoutDuplicatesAfterRepeatedSigkill() throws Exception {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        int minKills = Integer.getInteger("ferry.files.kills", 4);
        System.out.println("FileSinksCrashIT seed: " + seed + " (replay with -Dferry.seed=" + seed + "), kills >= " + minKills);
        Random random = new Random(seed);
        String db = "filecrash";
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, seed).seed(1_000, 50, 10_000);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture(db, db);
        // commits every 500 ms instead of the default 10 s, so that kills land between many commits
        writePipeline(db, role);
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

        // the first run finishes the snapshot, so that the kills land in the stream (a kill inside the
        // snapshot makes the next run take it again)
        FerryProcess first = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");
        long deadline = System.currentTimeMillis() + 120_000;
        while (!first.stderr().contains("Snapshot finished") && System.currentTimeMillis() < deadline && first.isAlive()) {
            Thread.sleep(100);
        }
        Thread.sleep(random.nextInt(1000));
        first.kill();
        int kills = 1 + FerryProcess.killRepeatedly(dir, env, random, minKills - 1, () -> true,
                () -> assertThat(workloadFailure.get()).isNull());
        keepWriting.set(false);
        workload.join();
        assertThat(workloadFailure.get()).isNull();

        FerryProcess finish = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        System.out.println("FileSinksCrashIT: " + kills + " kills, " + changes.get() + " workload changes");
        verifyAll(db, 11_050);
    }

    /** The replay check of both histories and of the Parquet mirrors; more than {@code minEvents} in each history. */
    private void verifyAll(String db, long minEvents) throws Exception {
        for (FileHistoryReplay.Format format : FileHistoryReplay.Format.values()) {
            Path root = dir.resolve(format == FileHistoryReplay.Format.CSV ? "out/csv" : "out/lake");
            ReplayVerifier.Result result;
            try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Connection source = pg.connect(db)) {
                result = FileHistoryReplay.verify(duck, source, root, format, TABLES);
            }
            System.out.println("FileSinksCrashIT " + format + ": " + result);
            assertThat(result.problems()).isEmpty();
            // the workload starts before the slot exists: its first changes may be in the snapshot instead
            assertThat(result.events()).isGreaterThan(minEvents);
            try (Stream<Path> files = Files.walk(root)) {
                assertThat(files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".tmp"))).isEmpty();
            }
        }
        // the Parquet sink's mirrors, compacted at every commit: one file per table, equal to the source
        for (String table : TABLES) {
            List<Path> mirrors;
            try (Stream<Path> files = Files.list(dir.resolve("out/lake/_ferry_mirror").resolve(table))) {
                mirrors = files.toList();
            }
            assertThat(mirrors).as(table + " mirrors").hasSize(1);
            try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Connection source = pg.connect(db)) {
                ReplayVerifier.Result result = FileHistoryReplay.verifyMirror(duck, source, mirrors.get(0), table);
                System.out.println("FileSinksCrashIT mirror " + result);
                assertThat(result.problems()).isEmpty();
            }
        }
    }
}
