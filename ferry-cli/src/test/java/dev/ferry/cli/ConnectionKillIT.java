package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replication connection killed again and again ({@code pg_terminate_backend} on the walsender)
 * while a workload writes and Ferry streams: each time Ferry reconnects and resumes after the last
 * position its Log holds; the replay check finds nothing lost and nothing duplicated.
 */
class ConnectionKillIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("public.customers", "public.products", "public.transactions");
    private static final int KILLS = 24;

    @TempDir
    Path dir;

    @Test
    void streamSurvivesTheReplicationConnectionKilledTwoDozenTimes() throws Exception {
        pg.createDatabase("kills");
        try (Connection c = pg.connect("kills")) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, 3).seed(300, 10, 2_000);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture("kills", "kills");
        JsonlPipelineFile.write(dir, pg, "kills", role);
        Map<String, String> env = JsonlPipelineFile.env(role);
        FerryProcess ferry = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");

        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicLong changes = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        Thread workload = new Thread(() -> {
            try (Connection c = pg.connect("kills")) {
                ShopWorkload w = new ShopWorkload(c, 100);
                while (writing.get()) {
                    changes.addAndGet(w.run(5));
                    Thread.sleep(5);
                }
            } catch (SQLException | InterruptedException | RuntimeException e) {
                failed.incrementAndGet();
            }
        }, "workload");
        workload.start();

        int killed = 0;
        try (Connection admin = pg.connect("kills"); Statement s = admin.createStatement()) {
            long deadline = System.currentTimeMillis() + 180_000;
            while (killed < KILLS && System.currentTimeMillis() < deadline) {
                assertThat(ferry.isAlive()).as("ferry survives each kill: " + ferry.stderr()).isTrue();
                try (ResultSet rs = s.executeQuery("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                        + "WHERE slot_name = 'ferry_kills' AND active_pid IS NOT NULL")) {
                    if (rs.next() && rs.getBoolean(1)) {
                        killed++;
                        // kill again soon after the reconnect, sometimes at once, sometimes after some streaming
                        Thread.sleep(ThreadLocalRandom.current().nextInt(50, 600));
                        continue;
                    }
                }
                Thread.sleep(20);
            }
        }
        writing.set(false);
        workload.join();
        assertThat(killed).as("the walsender was killed %d times", KILLS).isEqualTo(KILLS);
        assertThat(failed.get()).as("the workload itself ran through").isZero();

        Thread.sleep(2_000);
        assertThat(ferry.isAlive()).as(ferry.stderr()).isTrue();
        ferry.terminate();
        assertThat(ferry.waitFor()).as(ferry.stderr()).isEqualTo(0);
        assertThat(ferry.stderr()).contains("Reconnected to the source");
        FerryProcess finish = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        ReplayVerifier.Result result;
        try (Connection c = pg.connect("kills")) {
            result = ReplayVerifier.verify(dir.resolve("out"), c, TABLES);
        }
        System.out.println("ConnectionKillIT: " + killed + " kills, " + changes.get() + " changes; replay: " + result);
        assertThat(result.problems()).isEmpty();
    }
}
