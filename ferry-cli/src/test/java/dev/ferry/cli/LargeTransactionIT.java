package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory stays bounded whatever the transaction size: one transaction of {@code ferry.bigTxRows}
 * (default 2,000,000) rows flows through a Ferry process whose heap is capped at 256 MB.
 *
 * <p>Ferry runs as a role with only LOGIN, REPLICATION and SELECT on the tables (see TestingPostgres.grantCapture).
 */
class LargeTransactionIT extends PrivatePostgresTest {

    @TempDir
    Path dir;

    @Test
    void twoMillionRowTransactionFlowsThroughA256MbHeap() throws Exception {
        int rows = Integer.getInteger("ferry.bigTxRows", 2_000_000);
        pg.createDatabase("big");
        pg.execute("big", "CREATE TABLE t (id bigint PRIMARY KEY, amount numeric(12,2), note text)");
        TestingPostgres.CaptureRole role = pg.grantCapture("big", "big");
        JsonlPipelineFile.write(dir, pg, "big", role);
        Map<String, String> env = JsonlPipelineFile.env(role);
        FerryProcess first = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(first.waitFor()).as(first.stderr()).isEqualTo(0);

        pg.execute("big", "INSERT INTO t SELECT g, g * 0.01, 'row ' || g FROM generate_series(1, " + rows + ") g");
        long start = System.nanoTime();
        FerryProcess run = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(run.waitFor()).as(run.stderr()).isEqualTo(0);
        double seconds = (System.nanoTime() - start) / 1e9;
        long lines;
        try (Stream<Path> files = Files.walk(dir.resolve("out/public.t"))) {
            lines = files.filter(f -> f.toString().endsWith(".jsonl")).mapToLong(f -> {
                try (Stream<String> l = Files.lines(f)) {
                    return l.count();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).sum();
        }
        System.out.printf("LargeTransactionIT: %,d rows in one transaction delivered in %.1f s with -Xmx256m%n", rows, seconds);
        assertThat(lines).isEqualTo(rows);
    }

    @Test
    void killedWhileReadingBackAStreamedTransactionResumesWithoutLossOrDuplicates() throws Exception {
        try (TestingPostgres small = TestingPostgres.builder().setting("logical_decoding_work_mem", "64kB").start()) {
            small.createDatabase("spill");
            small.execute("spill", "CREATE TABLE t (id bigint PRIMARY KEY, note text)");
            TestingPostgres.CaptureRole role = small.grantCapture("spill", "spill");
            JsonlPipelineFile.write(dir, small, "spill", role);
            Map<String, String> env = new java.util.HashMap<>(JsonlPipelineFile.env(role));
            FerryProcess first = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
            assertThat(first.waitFor()).as(first.stderr()).isEqualTo(0);

            small.execute("spill", "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 50000) g",
                    "UPDATE t SET note = 'second' WHERE id % 10 = 0", "INSERT INTO t VALUES (0, 'after')");
            env.put("FERRY_CRASH_AT", "postgres.streamed-replay:4");
            FerryProcess crashing = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
            assertThat(crashing.waitFor()).as(crashing.stderr()).isEqualTo(86);
            env.remove("FERRY_CRASH_AT");
            FerryProcess resumed = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
            assertThat(resumed.waitFor()).as(resumed.stderr()).isEqualTo(0);
            try (java.sql.Connection c = small.connect("spill")) {
                ReplayVerifier.Result result = ReplayVerifier.verify(dir.resolve("out"), c, List.of("public.t"));
                System.out.println("LargeTransactionIT, killed while reading back a streamed transaction: " + result);
                assertThat(result.problems()).isEmpty();
                assertThat(result.events()).isEqualTo(50_000 + 5_000 + 1);
            }
            try (Stream<Path> spill = Files.list(dir.resolve(".ferry/spill/work/spill"))) {
                assertThat(spill).as("no spill file is left behind").isEmpty();
            }
        }
    }
}
