package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivateKafka;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Log on Kafka ({@code log: {type: kafka}}) between a private PostgreSQL and the JSONL sink, with
 * Ferry as a child process killed with SIGKILL at random moments (the first inside the initial
 * snapshot, which makes the next run reset the Kafka log and take the snapshot again) while a mixed
 * workload writes, and the broker restarted under a running Ferry; then a batch run, and the replay check of the JSONL files against the source:
 * equal row by row, no change duplicated, none missing. A second batch run writes nothing.
 *
 * <p>By default at least {@code ferry.kafkalog.kills} (4) kills during {@code ferry.kafkalog.changes}
 * (3,000) changes. The seed is printed; {@code -Dferry.seed=N} replays a run.
 */
class KafkaLogCrashRecoveryIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("public.customers", "public.products", "public.transactions");
    @RegisterExtension
    static final PrivateKafka KAFKA = new PrivateKafka();

    @TempDir
    Path dir;

    @Test
    void survivesSigkillsWithTheLogOnKafkaWithoutLosingOrDuplicatingAChange() throws Exception {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        int minKills = Integer.getInteger("ferry.kafkalog.kills", 4);
        long minChanges = Long.getLong("ferry.kafkalog.changes", 3_000);
        System.out.println("KafkaLogCrashRecoveryIT seed: " + seed + " (replay with -Dferry.seed=" + seed
                + "), kills >= " + minKills + ", changes >= " + minChanges);
        Random random = new Random(seed);
        String db = "klog";
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, seed).seed(2_000, 100, 30_000);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture(db, db);
        JsonlPipelineFile.write(dir, pg, db, role.user(), List.of(
                "sink:", "  type: jsonl", "  path: out",
                "log:", "  type: kafka", "  bootstrap_servers: " + KAFKA.broker().bootstrapServers(),
                "  properties: {max.block.ms: 10000, request.timeout.ms: 5000, delivery.timeout.ms: 15000}"));
        Map<String, String> env = JsonlPipelineFile.env(role);

        BackgroundWorkload workload = BackgroundWorkload.start(pg, db, seed + 1, minChanges);
        int kills = FerryProcess.killRepeatedly(dir, env, random, minKills, () -> workload.changes() >= minChanges,
                workload::requireHealthy);
        // the broker goes away under a running Ferry, which waits for it (appends retry, readers reconnect)
        FerryProcess underRestart = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");
        Thread.sleep(2000);
        KAFKA.broker().restart();
        Thread.sleep(3000);
        assertThat(underRestart.isAlive()).as("ferry died on its own: " + underRestart.stderr()).isTrue();
        underRestart.kill();
        workload.finish();

        FerryProcess finish = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        ReplayVerifier.Result result;
        try (Connection c = pg.connect(db)) {
            result = ReplayVerifier.verify(dir.resolve("out"), c, TABLES);
        }
        System.out.println("KafkaLogCrashRecoveryIT: " + kills + " kills, " + workload.changes() + " workload changes; replay: "
                + result);
        assertThat(result.problems()).isEmpty();
        assertThat(result.events()).isGreaterThanOrEqualTo(minChanges);

        List<String> before = files(dir.resolve("out"));
        FerryProcess again = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(again.waitFor()).as(again.stderr()).isEqualTo(0);
        assertThat(files(dir.resolve("out"))).as("a batch run with nothing new writes nothing").isEqualTo(before);
    }

    private static List<String> files(Path folder) throws java.io.IOException {
        try (var walk = java.nio.file.Files.walk(folder)) {
            return walk.filter(java.nio.file.Files::isRegularFile).map(Path::toString).sorted().toList();
        }
    }
}
