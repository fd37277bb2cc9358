package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.MariaDbShopWorkload;
import dev.ferry.testkit.PrivateMariaDbTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingMariaDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code type: mysql} through the ferry command: check, status, and the engine as a child process
 * killed with SIGKILL at random moments (the first kill early, around the snapshot; the workload starts after it) while a
 * workload writes to a private MariaDB; then the replay check. Ferry runs as a user with only
 * REPLICATION SLAVE, REPLICATION CLIENT and SELECT. The seed is printed; {@code -Dferry.seed=N}
 * replays a run, {@code -Dferry.mysql.kills} and {@code -Dferry.mysql.changes} raise the load.
 */
class MySqlCrashRecoveryIT extends PrivateMariaDbTest {
    @TempDir
    Path dir;

    private Map<String, String> pipeline(String db) throws Exception {
        TestingMariaDb.User user = mariadb.grantCapture();
        Files.writeString(dir.resolve("pipeline.yaml"), String.join("\n",
                "name: " + db,
                "source:",
                "  type: mysql",
                "  port: " + mariadb.port(),
                "  database: " + db,
                "  user: " + user.name(),
                "  password: ${env:PW}",
                "sink:",
                "  type: jsonl",
                "  path: out", ""));
        return Map.of("PW", user.password());
    }

    /** The bytes in the state folder: they grow once a run has appended to its Log. */
    private long stateBytes() throws Exception {
        Path state = dir.resolve(".ferry");
        if (!Files.isDirectory(state)) {
            return 0;
        }
        try (var walk = Files.walk(state)) {
            return walk.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    /** Waits (at most a minute) until the run appended to the Log: the JVM started and the source works. */
    private void awaitProgress(FerryProcess p, long bytesBefore) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (stateBytes() == bytesBefore && p.isAlive() && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
    }

    @Test
    void checkAndStatusWorkForMySql() throws Exception {
        mariadb.createDatabase("checked");
        mariadb.execute("checked", "CREATE TABLE t (id int PRIMARY KEY)");
        Map<String, String> env = pipeline("checked");
        FerryProcess check = FerryProcess.start(dir, env, "check", "-c", "pipeline.yaml");
        assertThat(check.waitFor()).as(check.stdout() + check.stderr()).isEqualTo(0);
        assertThat(check.stdout()).contains("binlog_format").contains("privilege REPLICATION SLAVE");
        FerryProcess once = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(once.waitFor()).as(once.stderr()).isEqualTo(0);
        FerryProcess status = FerryProcess.start(dir, env, "status", "-c", "pipeline.yaml");
        assertThat(status.waitFor()).as(status.stderr()).isEqualTo(0);
        assertThat(status.stdout()).contains("server binlog position");
    }

    @Test
    void survivesRepeatedSigkillWithoutLosingOrDuplicatingAChange() throws Exception {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        int minKills = Integer.getInteger("ferry.mysql.kills", 6);
        long minChanges = Long.getLong("ferry.mysql.changes", 12_000);
        System.out.println("MySqlCrashRecoveryIT seed: " + seed + " (replay with -Dferry.seed=" + seed + ")");
        Random random = new Random(seed);
        String db = "crash";
        mariadb.createDatabase(db);
        try (Connection c = mariadb.connect(db)) {
            MariaDbShopWorkload.createSchema(c);
            new MariaDbShopWorkload(c, seed).seed(1_000, 100, 8_000);
        }
        Map<String, String> env = pipeline(db);

        AtomicLong changes = new AtomicLong();
        AtomicReference<Throwable> workloadFailure = new AtomicReference<>();
        AtomicBoolean keepWriting = new AtomicBoolean(true);
        Thread workload = new Thread(() -> {
            try (Connection c = mariadb.connect(db)) {
                MariaDbShopWorkload w = new MariaDbShopWorkload(c, seed + 1);
                boolean big = false;
                while (w.changes() < minChanges || keepWriting.get()) {
                    if (!big && w.changes() > minChanges / 3) {
                        w.bigTransaction(5_000);
                        big = true;
                    }
                    w.run(20);
                    changes.set(w.changes());
                    if (w.changes() >= minChanges) {
                        Thread.sleep(50); // idle trickle until the kills are done
                    }
                }
            } catch (Throwable t) {
                workloadFailure.set(t);
            }
        }, "workload");
        int kills = 0;
        while (changes.get() < minChanges || kills < minKills) {
            long before = stateBytes();
            FerryProcess p = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");
            // on a loaded machine a JVM takes seconds to start: kill at a random moment after the run
            // appended to its Log (the first one inside its snapshot), not after a fixed time
            awaitProgress(p, before);
            if (kills % 2 == 1) {
                // every other run streams before its kill: on a loaded machine a retaken snapshot can
                // outlast a random wait every time, and then nothing would be streamed and killed
                p.awaitLog(java.time.Duration.ofSeconds(60), "Snapshot finished", "Resuming the binlog");
            }
            Thread.sleep(kills == 0 ? random.nextInt(100) : random.nextInt(2500));
            assertThat(p.isAlive()).as("ferry died on its own: " + p.stderr()).isTrue();
            p.kill();
            kills++;
            if (kills == 1) {
                workload.start(); // after the first kill, so that most changes are streamed, not snapshotted
            }
            assertThat(workloadFailure.get()).isNull();
        }
        keepWriting.set(false);
        workload.join();
        assertThat(workloadFailure.get()).isNull();

        FerryProcess finish = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        ReplayVerifier.Result result;
        try (Connection c = mariadb.connect(db)) {
            result = ReplayVerifier.verify(dir.resolve("out"), c, List.of(db + ".customers", db + ".products", db + ".orders"));
        }
        System.out.println("MySqlCrashRecoveryIT: " + kills + " kills, " + changes.get() + " workload changes; replay: " + result);
        assertThat(result.problems()).isEmpty();
        // the first kill comes inside the snapshot, and the snapshot taken again after it already holds
        // whatever the workload wrote before it: how much is streamed depends on timing, but a good part is
        assertThat(result.events() - result.rows()).as("changes streamed beyond the rows a snapshot holds")
                .isGreaterThan(minChanges / 10);
    }
}
