package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of bad input ends with a one-paragraph message that says what to fix, and the exit code
 * of ARCHITECTURE.md: 2 for configuration and prerequisites, 1 for runtime failures.
 */
class BadInputIT {
    private static TestingPostgres pg;

    @TempDir
    Path dir;

    @BeforeAll
    static void startServer() {
        pg = TestingPostgres.start();
        pg.createDatabase("shop");
        pg.execute("shop", "CREATE TABLE orders (id int PRIMARY KEY, amount numeric)");
    }

    @AfterAll
    static void stopServer() {
        pg.close();
    }

    private String pipeline(int port, String password) {
        return String.join("\n",
                "name: shop",
                "source:",
                "  type: postgres",
                "  host: 127.0.0.1",
                "  port: " + port,
                "  database: shop",
                "  user: " + pg.user(),
                "  password: " + password,
                "sink:",
                "  type: jsonl",
                "  path: out", "");
    }

    private FerryProcess ferry(String pipelineText, Map<String, String> env, String... args) throws Exception {
        Files.writeString(dir.resolve("pipeline.yaml"), pipelineText);
        return FerryProcess.start(dir, env, args);
    }

    @Test
    void malformedYamlIsAConfigErrorWithTheLine() throws Exception {
        FerryProcess p = ferry("name: shop\nsource:\n  type: postgres\n   port: 5432\n", Map.of(), "run", "-c", "pipeline.yaml");
        assertThat(p.waitFor()).isEqualTo(2);
        assertThat(p.stderr()).contains("pipeline.yaml line 4").contains("not valid YAML");
    }

    @Test
    void unknownKeyNamesTheKeyTheLineAndTheClosestKey() throws Exception {
        String text = pipeline(pg.port(), "x").replace("  port:", "  prot:");
        FerryProcess p = ferry(text, Map.of(), "check", "-c", "pipeline.yaml");
        assertThat(p.waitFor()).isEqualTo(2);
        assertThat(p.stderr()).contains("pipeline.yaml line 5: unknown key source.prot.").contains("Did you mean port?");
    }

    @Test
    void wrongTypeNamesTheBound() throws Exception {
        String text = pipeline(pg.port(), "x").replace("  port: " + pg.port(), "  port: 54x2");
        FerryProcess p = ferry(text, Map.of(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(p.waitFor()).isEqualTo(2);
        assertThat(p.stderr()).contains("pipeline.yaml line 5: source.port must be a whole number from 1 to 65535, got \"54x2\"");
    }

    @Test
    void missingPasswordVariableSaysWhichVariable() throws Exception {
        FerryProcess p = ferry(pipeline(pg.port(), "${env:SHOP_PG_PASSWORD}"), Map.of(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(p.waitFor()).isEqualTo(2);
        assertThat(p.stderr()).contains("line 8").contains("SHOP_PG_PASSWORD").contains("is not set");
    }

    @Test
    void unreachableHostIsARuntimeFailure() throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        FerryProcess p = ferry(pipeline(closed, "x"), Map.of(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(p.waitFor()).isEqualTo(1);
        assertThat(p.stderr()).contains("Cannot connect to PostgreSQL at 127.0.0.1:" + closed + "/shop")
                .contains("Check source.host and source.port");
    }

    @Test
    void wrongPasswordIsAConfigErrorThatNeverPrintsThePassword() throws Exception {
        FerryProcess p = ferry(pipeline(pg.port(), "${env:SHOP_PG_PASSWORD}"), Map.of("SHOP_PG_PASSWORD", "hunter2-wrong"),
                "run", "-c", "pipeline.yaml", "--once");
        assertThat(p.waitFor()).isEqualTo(2);
        assertThat(p.stderr()).contains("rejected the password of user " + pg.user()).doesNotContain("hunter2");
    }

    @Test
    void walLevelReplicaIsAPrerequisiteWithTheFix() throws Exception {
        try (TestingPostgres replica = TestingPostgres.builder().setting("wal_level", "replica").start()) {
            replica.createDatabase("shop");
            String text = pipeline(replica.port(), "${env:PW}").replace(pg.user(), replica.user());
            FerryProcess p = ferry(text, Map.of("PW", replica.password()), "run", "-c", "pipeline.yaml");
            assertThat(p.waitFor()).isEqualTo(2);
            assertThat(p.stderr()).contains("has wal_level=replica").contains("ALTER SYSTEM SET wal_level = logical;");
        }
    }

    @Test
    void checkReportsEveryPrerequisiteAndExitsZeroWhenAllAreMet() throws Exception {
        FerryProcess p = ferry(pipeline(pg.port(), "${env:PW}"), Map.of("PW", pg.password()), "check", "-c", "pipeline.yaml");
        assertThat(p.waitFor()).as(p.stderr()).isEqualTo(0);
        assertThat(p.stdout()).contains("OK       wal_level: logical").contains("table public.orders: has a primary key")
                .contains("All prerequisites are met.");
    }

    @Test
    void usageErrorsExitTwoAndVersionExitsZero() throws Exception {
        FerryProcess version = FerryProcess.start(dir, Map.of(), "--version");
        assertThat(version.waitFor()).isEqualTo(0);
        assertThat(version.stdout()).startsWith("ferry ");
        FerryProcess noConfig = FerryProcess.start(dir, Map.of(), "run");
        assertThat(noConfig.waitFor()).isEqualTo(2);
        assertThat(noConfig.stderr()).contains("Missing required option");
        FerryProcess missingFile = FerryProcess.start(dir, Map.of(), "run", "-c", "nope.yaml");
        assertThat(missingFile.waitFor()).isEqualTo(2);
        assertThat(missingFile.stderr()).contains("nope.yaml does not exist");
    }

    @Test
    void roleNeedsASharedLogAndSinksThatDeliverPartitions() throws Exception {
        String text = pipeline(pg.port(), "x");
        FerryProcess fileLog = ferry(text, Map.of(), "run", "-c", "pipeline.yaml", "--role", "capture");
        assertThat(fileLog.waitFor()).isEqualTo(2);
        assertThat(fileLog.stderr()).contains("--role runs capture and sinks in separate processes")
                .contains("log: {type: kafka");
        String kafkaLog = text + "log:\n  type: kafka\n  bootstrap_servers: 127.0.0.1:1\n  partitions: 4\n";
        FerryProcess jsonl = ferry(kafkaLog, Map.of(), "run", "-c", "pipeline.yaml", "--role", "sinks");
        assertThat(jsonl.waitFor()).isEqualTo(2);
        assertThat(jsonl.stderr()).contains("the jsonl sink cannot yet deliver one partition");
        // without --role: the capture and a worker in one process, whose sinks must deliver partitions too
        FerryProcess noRole = ferry(kafkaLog, Map.of(), "run", "-c", "pipeline.yaml");
        assertThat(noRole.waitFor()).isEqualTo(2);
        assertThat(noRole.stderr()).contains("the jsonl sink cannot yet deliver one partition");
        FerryProcess once = ferry(kafkaLog, Map.of(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(once.waitFor()).isEqualTo(2);
        assertThat(once.stderr()).contains("log.partitions is 4").contains("without --once").contains("--role capture");
        // a schedule is refused at once, not at its first run (this one would be a year away at most)
        FerryProcess scheduled = ferry(kafkaLog + "schedule: \"0 2 29 2 *\"\n", Map.of(), "run", "-c", "pipeline.yaml");
        assertThat(scheduled.waitFor()).isEqualTo(2);
        assertThat(scheduled.stderr()).contains("log.partitions is 4").contains("a schedule");
    }

    @Test
    void missingDatabaseSaysWhichDatabase() throws Exception {
        String text = pipeline(pg.port(), "${env:PW}").replace("database: shop", "database: shopp");
        FerryProcess p = ferry(text, Map.of("PW", pg.password()), "run", "-c", "pipeline.yaml", "--once");
        assertThat(p.waitFor()).isEqualTo(2);
        assertThat(p.stderr()).contains("shopp").contains("does not exist");
    }

    @Test
    void missingTableSaysWhichTable() throws Exception {
        String text = pipeline(pg.port(), "${env:PW}").replace("  password: ${env:PW}",
                "  password: ${env:PW}\n  tables: [public.orders, public.ordres]");
        FerryProcess p = ferry(text, Map.of("PW", pg.password()), "run", "-c", "pipeline.yaml", "--once");
        assertThat(p.waitFor()).isEqualTo(2);
        assertThat(p.stderr()).contains("public.ordres");
    }

    @Test
    void missingSelectPrivilegeSaysWhatToGrant() throws Exception {
        pg.execute("shop", "DROP ROLE IF EXISTS noselect", "CREATE ROLE noselect LOGIN REPLICATION PASSWORD 'pw12345'",
                "CREATE PUBLICATION ferry_noselect FOR TABLE orders");
        String text = pipeline(pg.port(), "pw12345").replace("user: " + pg.user(), "user: noselect")
                .replace("name: shop", "name: noselect");
        FerryProcess p = ferry(text, Map.of(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(p.waitFor()).isEqualTo(2);
        assertThat(p.stderr()).contains("GRANT SELECT");
    }

    @Test
    void twoProcessesOnOneStateFolderAndTwoOnOneSlotAreRefused() throws Exception {
        Map<String, String> env = Map.of("PW", pg.password());
        FerryProcess first = ferry(pipeline(pg.port(), "${env:PW}"), env, "run", "-c", "pipeline.yaml");
        try {
            long deadline = System.currentTimeMillis() + 60_000;
            while (!first.stderr().contains("Streaming") && first.isAlive() && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            assertThat(first.isAlive()).as(first.stderr()).isTrue();
            FerryProcess sameState = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
            assertThat(sameState.waitFor()).isEqualTo(2);
            assertThat(sameState.stderr()).contains("Another Ferry process is already running pipeline shop");

            Files.writeString(dir.resolve("other.yaml"), pipeline(pg.port(), "${env:PW}") + "state: other-state\n");
            // another state folder, the same slot: Ferry says who holds it and waits (a holder that died is
            // released by the server within wal_sender_timeout), then refuses with exit 2 after 75 s; the
            // test takes the message and does not wait that long
            FerryProcess sameSlot = FerryProcess.start(dir, env, "run", "-c", "other.yaml", "--once");
            deadline = System.currentTimeMillis() + 30_000;
            while (!sameSlot.stderr().contains("still held by pid") && sameSlot.isAlive()
                    && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            assertThat(sameSlot.stderr()).contains("Replication slot ferry_shop is still held by pid");
            sameSlot.kill();
        } finally {
            first.terminate();
            first.waitFor();
        }
    }
}
