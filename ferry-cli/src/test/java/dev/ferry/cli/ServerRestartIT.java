package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL restarted three times in the middle of a workload while Ferry streams, twice crashed
 * ({@code pg_ctl stop -m immediate}, after which the slot may resend what Ferry already has): Ferry
 * reconnects with backoff and resumes; the replay check finds nothing lost and nothing duplicated.
 *
 * <p>Ferry runs as a role with only LOGIN, REPLICATION and SELECT on the tables (see TestingPostgres.grantCapture).
 */
class ServerRestartIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("public.customers", "public.products", "public.transactions");

    @TempDir
    Path dir;

    @Test
    void streamSurvivesServerRestartsWithoutLossOrDuplicates() throws Exception {
        pg.createDatabase("restart");
        try (Connection c = pg.connect("restart")) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, 3).seed(500, 20, 5_000);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture("restart", "restart");
        JsonlPipelineFile.write(dir, pg, "restart", role);
        Map<String, String> env = JsonlPipelineFile.env(role);
        FerryProcess ferry = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");

        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicLong committedChanges = new AtomicLong();
        Thread workload = new Thread(() -> {
            long seed = 100;
            while (writing.get()) {
                // the server goes away under the workload too: reconnect and go on with a new seed
                try (Connection c = pg.connect("restart")) {
                    ShopWorkload w = new ShopWorkload(c, seed++);
                    while (writing.get()) {
                        w.run(10);
                        committedChanges.addAndGet(10);
                        Thread.sleep(10);
                    }
                } catch (SQLException | RuntimeException e) {
                    sleepQuietly(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "workload");
        workload.start();
        Thread.sleep(4_000);
        pg.restart();
        Thread.sleep(4_000);
        pg.crashAndRestart(); // pg_ctl stop -m immediate: the slot may go back to its last checkpoint
        Thread.sleep(4_000);
        pg.crashAndRestart();
        Thread.sleep(4_000);
        writing.set(false);
        workload.join();

        assertThat(ferry.isAlive()).as("ferry must survive the restarts: " + ferry.stderr()).isTrue();
        Thread.sleep(2_000);
        ferry.terminate();
        assertThat(ferry.waitFor()).as(ferry.stderr()).isEqualTo(0);
        assertThat(ferry.stderr()).contains("Reconnected to the source");
        FerryProcess finish = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        ReplayVerifier.Result result;
        try (Connection c = pg.connect("restart")) {
            result = ReplayVerifier.verify(dir.resolve("out"), c, TABLES);
        }
        System.out.println("ServerRestartIT: about " + committedChanges.get() + " transactions written; replay: " + result);
        assertThat(result.problems()).isEmpty();
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
