package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Comparator;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry drop}: removes the slot, the publication Ferry created and the state folder, after
 * confirmation; never the sink output; refuses while the pipeline runs; harmless the second time.
 */
class DropIT extends PrivatePostgresTest {
    private static final int ROWS = 500;

    @TempDir
    Path dir;

    @Test
    void dropsSlotPublicationAndStateButNeverTheSinkOutput() throws Exception {
        String name = "retire";
        createShop(name);
        writePipeline(name);
        assertThat(ferry("run", "-c", "pipeline.yaml", "--once").waitFor()).isEqualTo(0);
        assertThat(slotExists(name)).isTrue();
        assertThat(publicationExists(name, "ferry_" + name)).isTrue();
        Path state = dir.resolve(".ferry").resolve(name);
        assertThat(state.resolve("log")).isDirectory();
        long files = countJsonl();
        assertThat(files).isPositive();

        // no --yes and nothing to read the confirmation from: refused, nothing dropped
        FerryProcess unconfirmed = ferry("drop", "-c", "pipeline.yaml").input("");
        assertThat(unconfirmed.waitFor()).as(unconfirmed.stderr()).isEqualTo(2);
        assertThat(unconfirmed.stdout()).contains("replication slot ferry_" + name).contains("publication ferry_" + name)
                .contains("state folder").contains("The sink output stays; delete it yourself to start over.")
                .contains("Type the pipeline name to confirm:");
        assertThat(unconfirmed.stderr()).contains("--yes").contains("Nothing was dropped");
        assertThat(slotExists(name)).isTrue();
        assertThat(state.resolve("log")).isDirectory();

        FerryProcess drop = ferry("drop", "-c", "pipeline.yaml", "--yes");
        assertThat(drop.waitFor()).as(drop.stderr()).isEqualTo(0);
        assertThat(drop.stdout()).contains("Dropped replication slot ferry_" + name)
                .contains("Dropped publication ferry_" + name).contains("Deleted state folder")
                .contains("The sink output stays; delete it yourself to start over.");
        assertThat(slotExists(name)).isFalse();
        assertThat(publicationExists(name, "ferry_" + name)).isFalse();
        assertThat(state).doesNotExist();
        assertThat(countJsonl()).isEqualTo(files);

        FerryProcess again = ferry("drop", "-c", "pipeline.yaml", "--yes");
        assertThat(again.waitFor()).as(again.stderr()).isEqualTo(0);
        assertThat(again.stdout()).contains("Nothing to drop").doesNotContain("Dropped");
        assertThat(state).doesNotExist();

        // the old output is ahead of the new, empty Log: refused before any slot is created
        FerryProcess refused = ferry("run", "-c", "pipeline.yaml", "--once");
        assertThat(refused.waitFor()).isEqualTo(2);
        assertThat(refused.stderr()).contains("state folder");
        assertThat(slotExists(name)).isFalse();

        deleteTree(dir.resolve("out"));
        FerryProcess fresh = ferry("run", "-c", "pipeline.yaml", "--once");
        assertThat(fresh.waitFor()).as(fresh.stderr()).isEqualTo(0);
        assertThat(slotExists(name)).isTrue();
        assertThat(snapshotRows()).isEqualTo(ROWS);
    }

    @Test
    void dropsOnlyWhenThePipelineNameIsTyped() throws Exception {
        String name = "typed";
        createShop(name);
        writePipeline(name);
        assertThat(ferry("run", "-c", "pipeline.yaml", "--once").waitFor()).isEqualTo(0);

        FerryProcess wrong = ferry("drop", "-c", "pipeline.yaml").input("shop\n");
        assertThat(wrong.waitFor()).isEqualTo(2);
        assertThat(wrong.stderr()).contains("not the pipeline name " + name).contains("Nothing was dropped");
        assertThat(slotExists(name)).isTrue();
        assertThat(dir.resolve(".ferry").resolve(name)).isDirectory();

        FerryProcess typed = ferry("drop", "-c", "pipeline.yaml").input(name + "\n");
        assertThat(typed.waitFor()).as(typed.stderr()).isEqualTo(0);
        assertThat(typed.stdout()).contains("Dropped replication slot ferry_" + name);
        assertThat(slotExists(name)).isFalse();
        assertThat(dir.resolve(".ferry").resolve(name)).doesNotExist();
    }

    @Test
    void refusesWhileThePipelineRunsHereOrElsewhere() throws Exception {
        String name = "busy";
        createShop(name);
        writePipeline(name);
        FerryProcess running = ferry("run", "-c", "pipeline.yaml");
        try {
            awaitActiveSlot(name, running);

            // the same state folder: its lock says the pipeline runs
            FerryProcess here = ferry("drop", "-c", "pipeline.yaml", "--yes");
            assertThat(here.waitFor()).isEqualTo(2);
            assertThat(here.stderr()).contains("is running in another Ferry process").contains("Nothing was dropped");

            // another state folder (another machine, say): the active slot says so
            Files.writeString(dir.resolve("elsewhere.yaml"),
                    Files.readString(dir.resolve("pipeline.yaml")) + "state: elsewhere\n");
            FerryProcess elsewhere = ferry("drop", "-c", "elsewhere.yaml", "--yes");
            assertThat(elsewhere.waitFor()).isEqualTo(2);
            assertThat(elsewhere.stderr()).contains("Replication slot ferry_" + name).contains("is in use")
                    .contains("Nothing was dropped");
            assertThat(slotExists(name)).isTrue();
            assertThat(publicationExists(name, "ferry_" + name)).isTrue();
            assertThat(dir.resolve(".ferry").resolve(name).resolve("log")).isDirectory();
        } finally {
            running.terminate();
        }
        assertThat(running.waitFor()).as(running.stderr()).isEqualTo(0);
        FerryProcess drop = ferry("drop", "-c", "pipeline.yaml", "--yes");
        assertThat(drop.waitFor()).as(drop.stderr()).isEqualTo(0);
        assertThat(slotExists(name)).isFalse();
    }

    @Test
    void keepsAPublicationAnotherRoleCreated() throws Exception {
        String name = "adminpub";
        createShop(name);
        pg.execute(name, "CREATE ROLE adminpub_owner NOLOGIN", "GRANT CREATE ON DATABASE adminpub TO adminpub_owner",
                "CREATE PUBLICATION made_by_admin FOR TABLE items",
                "ALTER PUBLICATION made_by_admin OWNER TO adminpub_owner");
        writePipeline(name, "  publication: made_by_admin");
        assertThat(ferry("run", "-c", "pipeline.yaml", "--once").waitFor()).isEqualTo(0);

        FerryProcess drop = ferry("drop", "-c", "pipeline.yaml", "--yes");
        assertThat(drop.waitFor()).as(drop.stderr()).isEqualTo(0);
        assertThat(drop.stdout()).contains("Dropped replication slot ferry_" + name).doesNotContain("publication");
        assertThat(drop.stderr()).contains("made_by_admin").contains("stays");
        assertThat(slotExists(name)).isFalse();
        assertThat(publicationExists(name, "made_by_admin")).isTrue();
    }

    private void createShop(String db) {
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE items (id int PRIMARY KEY, label text)",
                "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, " + ROWS + ") g");
    }

    private void writePipeline(String name, String... extraSourceLines) throws Exception {
        Files.writeString(dir.resolve("pipeline.yaml"), String.join("\n",
                "name: " + name,
                "source:",
                "  type: postgres",
                "  port: " + pg.port(),
                "  database: " + name,
                "  user: " + pg.user(),
                "  password: ${env:PW}",
                String.join("\n", extraSourceLines),
                "sink:",
                "  type: jsonl",
                "  path: out", ""));
    }

    private FerryProcess ferry(String... args) throws Exception {
        return FerryProcess.start(dir, Map.of("PW", pg.password()), args);
    }

    private boolean slotExists(String db) throws Exception {
        return count(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = ?", "ferry_" + db) > 0;
    }

    private boolean publicationExists(String db, String publication) throws Exception {
        return count(db, "SELECT count(*) FROM pg_publication WHERE pubname = ?", publication) > 0;
    }

    private void awaitActiveSlot(String db, FerryProcess running) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (count(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = ? AND active", "ferry_" + db) == 0) {
            assertThat(running.isAlive()).as(running.stderr()).isTrue();
            assertThat(System.currentTimeMillis()).as("the slot never became active").isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private static long count(String db, String sql, String arg) throws Exception {
        try (Connection c = pg.connect(db); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, arg);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private long countJsonl() throws Exception {
        try (var walk = Files.walk(dir.resolve("out"))) {
            return walk.filter(f -> f.toString().endsWith(".jsonl")).count();
        }
    }

    /** Snapshot reads ({@code "op":"r"}) in the output. */
    private long snapshotRows() throws Exception {
        long rows = 0;
        try (var walk = Files.walk(dir.resolve("out"))) {
            for (Path f : walk.filter(p -> p.toString().endsWith(".jsonl")).toList()) {
                rows += Files.readAllLines(f).stream().filter(l -> l.startsWith("{\"op\":\"r\"")).count();
            }
        }
        return rows;
    }

    private static void deleteTree(Path root) throws Exception {
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
