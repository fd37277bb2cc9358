package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TableComparison;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A poison record end to end: the warehouse's mirror column was narrowed by someone, so one value no
 * longer fits. That event goes to the dead-letter log with its reason while everything else flows into
 * both sinks; after the column is widened again, {@code ferry dlq replay} delivers it and the warehouse
 * equals the source.
 */
class DeadLetterIT extends PrivatePostgresTest {
    @TempDir
    Path dir;

    @Test
    void aValueTheWarehouseRefusesWaitsInTheDeadLetterLogAndReplayDeliversItOnceFixed() throws Exception {
        pg.createDatabase("poison");
        pg.createDatabase("poisonwh");
        pg.execute("poison", "CREATE TABLE notes (id int PRIMARY KEY, body text)",
                "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 20) g");
        Files.writeString(dir.resolve("pipeline.yaml"), String.join("\n",
                "name: poison",
                "source: {type: postgres, port: " + pg.port() + ", database: poison, user: " + pg.user()
                        + ", password: '${env:PW}'}",
                "sinks:",
                "  - {type: jsonl, path: out}",
                "  - {type: postgres, port: " + pg.port() + ", database: poisonwh, user: " + pg.user()
                        + ", password: '${env:PW}', schema: mirror}", ""));
        Map<String, String> env = Map.of("PW", pg.password());
        run(env, 0, "run", "-c", "pipeline.yaml", "--once");

        // someone narrows the warehouse's column; then a long value arrives among short ones
        pg.execute("poisonwh", "ALTER TABLE mirror.notes ALTER COLUMN body TYPE varchar(12)");
        pg.execute("poison", "INSERT INTO notes VALUES (21, 'short'), (22, 'this body is far too long for it'), "
                + "(23, 'short too')", "UPDATE notes SET body = 'changed' WHERE id = 5");
        FerryProcess run = run(env, 0, "run", "-c", "pipeline.yaml", "--once");
        assertThat(run.stderr()).contains("refused the create of public.notes").contains("dead-letter log as postgres#1/");

        String list = run(env, 0, "dlq", "list", "-c", "pipeline.yaml").stdout();
        assertThat(list).contains("postgres#1/").contains("public.notes").contains("1 event(s)");
        String id = list.lines().filter(l -> l.startsWith("postgres#1/")).findFirst().orElseThrow().split(" ")[0];
        String show = run(env, 0, "dlq", "show", "-c", "pipeline.yaml", id).stdout();
        assertThat(show).contains("this body is far too long for it").contains("body");
        assertThat(run(env, 0, "status", "-c", "pipeline.yaml").stdout()).contains("1 events (ferry dlq list");
        try (Connection wh = pg.connect("poisonwh"); ResultSet rs = wh.createStatement().executeQuery(
                "SELECT count(*) FROM mirror.notes WHERE id IN (21, 23) OR (id = 5 AND body = 'changed')")) {
            rs.next();
            assertThat(rs.getInt(1)).as("the rest of the batch flowed").isEqualTo(3);
        }
        try (Connection c = pg.connect("poison")) {
            assertThat(ReplayVerifier.verify(dir.resolve("out"), c, List.of("public.notes")).problems())
                    .as("the JSONL sink got everything").isEmpty();
        }

        FerryProcess refused = run(env, 1, "dlq", "replay", "-c", "pipeline.yaml", "--all");
        assertThat(refused.stdout()).contains("Not replayed " + id).contains("still refuses");

        pg.execute("poisonwh", "ALTER TABLE mirror.notes ALTER COLUMN body TYPE text");
        assertThat(run(env, 0, "dlq", "replay", "-c", "pipeline.yaml", "--all").stdout()).contains("Replayed " + id);
        assertThat(run(env, 0, "dlq", "list", "-c", "pipeline.yaml").stdout()).contains("is empty");
        try (Connection source = pg.connect("poison"); Connection wh = pg.connect("poisonwh")) {
            assertThat(TableComparison.compare(source, "public.notes", wh, "mirror.notes").problems()).isEmpty();
            try (ResultSet rs = wh.createStatement().executeQuery(
                    "SELECT count(*) FROM mirror.notes_history WHERE id = 22")) {
                rs.next();
                assertThat(rs.getInt(1)).as("the replayed change is in the history once").isEqualTo(1);
            }
        }
        // the next run goes on from where it was; nothing comes twice
        run(env, 0, "run", "-c", "pipeline.yaml", "--once");
        try (Connection source = pg.connect("poison"); Connection wh = pg.connect("poisonwh")) {
            assertThat(TableComparison.compare(source, "public.notes", wh, "mirror.notes").problems()).isEmpty();
        }

        // an event nobody wants back is purged for good
        pg.execute("poisonwh", "ALTER TABLE mirror.notes ADD CONSTRAINT no_spam CHECK (body <> 'spam')");
        pg.execute("poison", "INSERT INTO notes VALUES (24, 'spam')");
        run(env, 0, "run", "-c", "pipeline.yaml", "--once");
        String spam = run(env, 0, "dlq", "list", "-c", "pipeline.yaml").stdout().lines()
                .filter(l -> l.startsWith("postgres#1/")).findFirst().orElseThrow().split(" ")[0];
        assertThat(run(env, 0, "dlq", "show", "-c", "pipeline.yaml", spam).stdout()).contains("no_spam");
        assertThat(run(env, 0, "dlq", "purge", "-c", "pipeline.yaml", "--id", spam).stdout())
                .contains("1 event(s) deleted");
        assertThat(run(env, 0, "dlq", "list", "-c", "pipeline.yaml").stdout()).contains("is empty");
        assertThat(run(env, 2, "dlq", "show", "-c", "pipeline.yaml", spam).stderr()).contains("has no entry " + spam);

        // the password (of source and warehouse) is in no file: dead-letter entries, the Log, the output
        try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1))
                        .as(f.toString()).doesNotContain(pg.password());
            }
        }
    }

    private FerryProcess run(Map<String, String> env, int exit, String... args) throws Exception {
        FerryProcess p = FerryProcess.start(dir, env, args);
        assertThat(p.waitFor()).as(String.join(" ", args) + "\n" + p.stdout() + p.stderr()).isEqualTo(exit);
        return p;
    }
}
