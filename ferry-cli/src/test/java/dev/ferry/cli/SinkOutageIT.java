package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TableComparison;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The warehouse of one sink goes down under a streaming pipeline with two sinks, and Ferry is even
 * restarted while it is down: the JSONL sink keeps flowing meanwhile, and once the warehouse is back
 * its sink catches up; both then equal the source. The outage lasts {@code -Dferry.outageSeconds}
 * (default 20; the "minutes" with 180).
 */
class SinkOutageIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("customers", "products", "transactions");

    @TempDir
    Path dir;

    @Test
    void oneSinkDownForAWhileTheOtherFlowsAndNothingIsLost() throws Exception {
        int outageSeconds = Integer.getInteger("ferry.outageSeconds", 20);
        pg.createDatabase("outage");
        try (Connection c = pg.connect("outage")) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, 1).seed(200, 10, 2_000);
        }
        try (TestingPostgres warehouse = TestingPostgres.start()) {
            warehouse.createDatabase("wh");
            TestingPostgres.CaptureRole role = pg.grantCapture("outage", "outage");
            int adminPort;
            try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
                adminPort = free.getLocalPort();
            }
            JsonlPipelineFile.write(dir, pg, "outage", role.user(), List.of(
                    "admin: {port: " + adminPort + "}",
                    "sinks:",
                    "  - {type: jsonl, path: out}",
                    "  - {type: postgres, port: " + warehouse.port() + ", database: wh, user: " + warehouse.user()
                            + ", password: '${env:WAREHOUSE_PW}', commit_interval_ms: 200}"));
            Map<String, String> env = Map.of("PW", role.password(), "WAREHOUSE_PW", warehouse.password());
            FerryProcess ferry = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");
            try (Connection c = pg.connect("outage")) {
                ShopWorkload work = new ShopWorkload(c, 2);
                work.run(300);
                awaitMirrors(warehouse, 120);

                warehouse.stopKeepingData();
                long downSince = System.currentTimeMillis();
                work.run(300);
                awaitJsonl(90); // the other sink flows while the warehouse is down
                assertThat(ferry.stderr()).contains("cannot write").contains("Retrying with backoff");
                FerryProcess status = FerryProcess.start(dir, env, "status", "-c", "pipeline.yaml");
                status.waitFor();
                assertThat(status.stdout()).as("ferry status shows the retries of the running pipeline")
                        .containsPattern("sink postgres#1 +retrying since ").containsPattern("source +connected")
                        .containsPattern("sink jsonl#0 +writing");

                // a restart while the warehouse is still down: the run starts and waits for it
                ferry.terminate();
                assertThat(ferry.waitFor()).as(ferry.stderr()).isEqualTo(0);
                ferry = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");
                work.run(300);
                awaitJsonl(90);
                assertThat(ferry.isAlive()).as(ferry.stderr()).isTrue();
                assertThat(ferry.stderr()).contains("cannot be reached at the start");
                Thread.sleep(Math.max(0, outageSeconds * 1000L - (System.currentTimeMillis() - downSince)));

                warehouse.startAgain();
                work.run(300);
                awaitJsonl(90);
                awaitMirrors(warehouse, 180);
            } finally {
                ferry.terminate();
                assertThat(ferry.waitFor()).as(ferry.stderr()).isEqualTo(0);
            }
        }
    }

    private void awaitJsonl(int seconds) throws Exception {
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        ReplayVerifier.Result last;
        do {
            Thread.sleep(500);
            try (Connection c = pg.connect("outage")) {
                last = ReplayVerifier.verify(dir.resolve("out"), c,
                        TABLES.stream().map(t -> "public." + t).toList());
            }
        } while (!last.ok() && System.currentTimeMillis() < deadline);
        assertThat(last.problems()).as("the JSONL sink is up to date").isEmpty();
    }

    private void awaitMirrors(TestingPostgres warehouse, int seconds) throws Exception {
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        List<String> problems;
        do {
            Thread.sleep(500);
            problems = new java.util.ArrayList<>();
            try (Connection source = pg.connect("outage"); Connection wh = warehouse.connect("wh")) {
                for (String t : TABLES) {
                    problems.addAll(TableComparison.compare(source, "public." + t, wh, "outage." + t).problems());
                }
            } catch (java.sql.SQLException e) {
                problems.add(e.toString()); // the mirror tables may not exist yet
            }
        } while (!problems.isEmpty() && System.currentTimeMillis() < deadline);
        assertThat(problems).as("the warehouse mirrors equal the source").isEmpty();
    }
}
