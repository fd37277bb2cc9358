package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivateKafka;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.TableComparison;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dead-letter log of a sink worker: a value the warehouse refuses, delivered by a worker of a
 * Kafka Log of 2 partitions, is set aside under the partition's sink ({@code postgres.p<N>}), where
 * {@code ferry dlq list} sees it (it was written one folder too deep, {@code postgres/p<N>}, and
 * list showed nothing); once the column is fixed {@code ferry dlq replay} applies it through that
 * partition's sink (its offset row and history partition), and the warehouse equals the source.
 */
class KafkaLogDeadLetterIT extends PrivatePostgresTest {
    private static final Duration WAIT = Duration.ofSeconds(90);
    @RegisterExtension
    static final PrivateKafka KAFKA = new PrivateKafka();

    @TempDir
    Path dir;

    @Test
    void aWorkersDeadLetteredEventIsListedAndReplayedThroughItsPartitionsSink() throws Exception {
        pg.createDatabase("kpoison");
        pg.createDatabase("kpoisonwh");
        pg.execute("kpoison", "CREATE TABLE notes (id int PRIMARY KEY, body text)",
                "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 20) g");
        Files.writeString(dir.resolve("pipeline.yaml"), String.join("\n",
                "name: kpoison",
                "source: {type: postgres, port: " + pg.port() + ", database: kpoison, user: " + pg.user()
                        + ", password: '${env:PW}'}",
                "sink: {type: postgres, port: " + pg.port() + ", database: kpoisonwh, user: " + pg.user()
                        + ", password: '${env:PW}', schema: mirror, commit_interval_ms: 100}",
                "log: {type: kafka, bootstrap_servers: '" + KAFKA.broker().bootstrapServers() + "', partitions: 2}", ""));
        Map<String, String> env = Map.of("PW", pg.password());
        assertThat(run(env, 0, "status", "-c", "pipeline.yaml").stdout()).as("before the capture made the Log")
                .contains("ferry.kpoison.log (2 partitions)").contains("does not exist yet; the capture creates it");

        FerryProcess capture = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--role", "capture");
        FerryProcess worker = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--role", "sinks");
        String id;
        try {
            awaitRows("SELECT count(*) FROM mirror.notes", 20, worker);
            // someone narrows the warehouse's column; then a long value arrives among short ones
            pg.execute("kpoisonwh", "ALTER TABLE mirror.notes ALTER COLUMN body TYPE varchar(12)");
            pg.execute("kpoison", "INSERT INTO notes VALUES (21, 'short'), (22, 'this body is far too long for it'), "
                    + "(23, 'short too')");
            assertThat(worker.awaitLog(WAIT, "dead-letter log as postgres.p")).as(worker.stderr()).isTrue();
            awaitRows("SELECT count(*) FROM mirror.notes WHERE id IN (21, 23)", 2, worker);
            capture.terminate(); // it holds the state folder; the worker holds no lock
            assertThat(capture.waitFor()).as(capture.stderr()).isEqualTo(0);
            // the worker may commit past the entry at any time: its entry is neither replayed nor removed
            FerryProcess refused = run(env, 2, "dlq", "replay", "-c", "pipeline.yaml", "--all");
            assertThat(refused.stdout() + refused.stderr()).contains("which a running sink worker holds")
                    .contains("left as it is");
            assertThat(run(env, 0, "dlq", "list", "-c", "pipeline.yaml").stdout()).contains("1 event(s)");
        } finally {
            worker.terminate();
            capture.terminate();
        }
        assertThat(worker.waitFor()).as(worker.stderr()).isEqualTo(0);
        assertThat(capture.waitFor()).as(capture.stderr()).isEqualTo(0);

        String list = run(env, 0, "dlq", "list", "-c", "pipeline.yaml").stdout();
        assertThat(list).contains("public.notes").contains("1 event(s)");
        id = list.lines().filter(l -> l.startsWith("postgres.p")).findFirst().orElseThrow().split(" ")[0];
        assertThat(run(env, 0, "dlq", "show", "-c", "pipeline.yaml", id).stdout())
                .contains("this body is far too long for it");

        // a topic whose partition count is not log.partitions is an error, not "no topic yet"
        String pipeline = Files.readString(dir.resolve("pipeline.yaml"));
        Files.writeString(dir.resolve("three.yaml"), pipeline.replace("partitions: 2", "partitions: 3"));
        FerryProcess wrongCount = run(env, 2, "status", "-c", "three.yaml");
        assertThat(wrongCount.stderr()).contains("log.partitions is 3").contains("has 2 partition(s)");

        pg.execute("kpoisonwh", "ALTER TABLE mirror.notes ALTER COLUMN body TYPE text");
        assertThat(run(env, 0, "dlq", "replay", "-c", "pipeline.yaml", "--all").stdout()).contains("Replayed " + id);
        assertThat(run(env, 0, "dlq", "list", "-c", "pipeline.yaml").stdout()).contains("is empty");
        try (Connection source = pg.connect("kpoison"); Connection wh = pg.connect("kpoisonwh")) {
            assertThat(TableComparison.compare(source, "public.notes", wh, "mirror.notes").problems()).isEmpty();
            try (ResultSet rs = wh.createStatement().executeQuery(
                    "SELECT count(*), min(_ferry_partition) FROM mirror.notes_history WHERE id = 22")) {
                rs.next();
                assertThat(rs.getInt(1)).as("the replayed change is in the history once").isEqualTo(1);
                assertThat("postgres.p" + rs.getInt(2)).as("in its partition's history").isEqualTo(id.split("/")[0]);
            }
        }
    }

    private void awaitRows(String sql, int rows, FerryProcess worker) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try (Connection wh = pg.connect("kpoisonwh"); ResultSet rs = wh.createStatement().executeQuery(sql)) {
                rs.next();
                if (rs.getInt(1) == rows) {
                    return;
                }
            } catch (java.sql.SQLException e) {
                // the sink has not made its tables yet
            }
            assertThat(System.nanoTime()).as(sql + ": " + worker.stderr()).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private FerryProcess run(Map<String, String> env, int exit, String... args) throws Exception {
        FerryProcess p = FerryProcess.start(dir, env, args);
        assertThat(p.waitFor()).as(String.join(" ", args) + "\n" + p.stdout() + p.stderr()).isEqualTo(exit);
        return p;
    }
}
