package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Schema changes while Ferry streams, with a workload on other tables all along: ADD, DROP and
 * RENAME COLUMN, type changes, a table created later (added to the publication with its rows), a
 * table without a key (left alone, so the source's updates keep working), a dropped table, a table
 * added to {@code tables:} between runs, and a crash in the middle of a new table's copy. After each
 * step the replay check compares the JSONL output with the source.
 */
class SchemaEvolutionIT extends PrivatePostgresTest {
    private static final List<String> SHOP = List.of("public.customers", "public.products", "public.transactions");
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void columnChangesNewAndDroppedTablesWhileStreaming() throws Exception {
        String db = "evolve";
        createShop(db);
        pg.execute(db, "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), qty int)",
                "INSERT INTO items SELECT g, 'item ' || g, g * 1.25, g % 17 FROM generate_series(1, 500) g");
        writePipeline(db, "");
        FerryProcess ferry = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml");
        try (Workload workload = new Workload(db)) {
            List<String> tables = new ArrayList<>(SHOP);
            tables.add("public.items");
            awaitReplay(db, tables, Map.of(), workload, ferry);

            pg.execute(db, "ALTER TABLE items ADD COLUMN note text",
                    "UPDATE items SET note = 'note ' || id WHERE id % 3 = 0",
                    "INSERT INTO items SELECT g, 'item ' || g, g, 1, 'new' FROM generate_series(501, 600) g");
            awaitReplay(db, tables, Map.of(), workload, ferry);
            assertThat(lastEvent("public.items").get("after").has("note")).isTrue();

            pg.execute(db, "ALTER TABLE items DROP COLUMN name",
                    "UPDATE items SET qty = qty + 1 WHERE id % 5 = 0", "DELETE FROM items WHERE id % 7 = 0");
            awaitReplay(db, tables, Map.of(), workload, ferry);
            assertThat(lastEvent("public.items").get("before").has("name")).isFalse();

            pg.execute(db, "ALTER TABLE items RENAME COLUMN price TO amount",
                    "UPDATE items SET amount = amount * 2 WHERE id % 4 = 0",
                    "INSERT INTO items VALUES (601, 6.01, 6, 'renamed')");
            Map<String, Map<String, String>> renamed = Map.of("public.items", Map.of("amount", "price"));
            awaitReplay(db, tables, renamed, workload, ferry);
            JsonNode afterRename = lastEvent("public.items").get("after");
            assertThat(afterRename.has("amount")).isTrue();
            assertThat(afterRename.has("price")).isFalse();

            pg.execute(db, "ALTER TABLE items ALTER COLUMN qty TYPE bigint, ALTER COLUMN amount TYPE numeric(14,3)",
                    "UPDATE items SET qty = 5000000000, amount = 1.125 WHERE id = 2");
            awaitReplay(db, tables, renamed, workload, ferry);
            assertThat(lastEvent("public.items").get("after").get("amount").asText()).isEqualTo("1.125");

            // a table created while streaming: rows written before Ferry notices it are copied, later ones stream
            pg.execute(db, "CREATE TABLE late (id int PRIMARY KEY, v text)",
                    "INSERT INTO late SELECT g, 'v' || g FROM generate_series(1, 2000) g");
            for (int i = 0; i < 20; i++) {
                pg.execute(db, "UPDATE late SET v = v || '+' WHERE id % 20 = " + i,
                        "INSERT INTO late VALUES (" + (2001 + i) + ", 'later')");
                Thread.sleep(100);
            }
            tables.add("public.late");
            awaitReplay(db, tables, renamed, workload, ferry);
            assertThat(ferry.stderr()).contains("Added [public.late] to publication ferry_evolve");

            // a table without a key is not published: the source's updates must keep working
            pg.execute(db, "CREATE TABLE nokey (a int)", "INSERT INTO nokey VALUES (1)");
            Thread.sleep(2_500);
            pg.execute(db, "UPDATE nokey SET a = 2", "DELETE FROM nokey");
            assertThat(ferry.stderr()).contains("public.nokey matches source.tables but has no primary key");

            pg.execute(db, "DROP TABLE items");
            tables.remove("public.items");
            pg.execute(db, "UPDATE late SET v = 'after drop' WHERE id <= 10");
            awaitReplay(db, tables, renamed, workload, ferry);
        }
        ferry.terminate();
        assertThat(ferry.waitFor()).as(ferry.stderr()).isZero();
        FerryProcess again = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(again.waitFor()).as(again.stderr()).isZero();
        assertThat(again.stderr()).doesNotContain("ERROR");
    }

    @Test
    void killedInTheMiddleOfANewTablesCopyCopiesItAgainWithoutLoss() throws Exception {
        String db = "recopy";
        createShop(db);
        writePipeline(db, "");
        FerryProcess first = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml");
        try (Workload workload = new Workload(db)) {
            awaitReplay(db, SHOP, Map.of(), workload, first);
            first.terminate();
            assertThat(first.waitFor()).as(first.stderr()).isZero();
            pg.execute(db, "CREATE TABLE big (id int PRIMARY KEY, pad text)",
                    "INSERT INTO big SELECT g, repeat('x', 50) || g FROM generate_series(1, 30000) g");
            // the copy comes in batches of 4,096 rows: die on the third
            Map<String, String> crash = new java.util.HashMap<>(env());
            crash.put("FERRY_CRASH_AT", "postgres.table-copy:3");
            FerryProcess crashing = FerryProcess.start(dir, crash, "run", "-c", "pipeline.yaml");
            assertThat(crashing.waitFor()).as(crashing.stderr()).isEqualTo(86);
            pg.execute(db, "UPDATE big SET pad = 'changed' WHERE id % 100 = 0", "DELETE FROM big WHERE id % 333 = 0");
            FerryProcess resumed = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml");
            List<String> tables = new ArrayList<>(SHOP);
            tables.add("public.big");
            awaitReplay(db, tables, Map.of(), workload, resumed);
            assertThat(resumed.stderr()).contains("Copying [public.big] again");
            resumed.terminate();
            assertThat(resumed.waitFor()).as(resumed.stderr()).isZero();
        }
    }

    @Test
    void aTableAddedToTheListBetweenRunsArrivesWithItsRows() throws Exception {
        String db = "listed";
        createShop(db);
        writePipeline(db, "  tables: [public.customers]\n");
        FerryProcess first = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(first.waitFor()).as(first.stderr()).isZero();
        assertThat(dir.resolve("out/public.products")).doesNotExist();
        try (Connection c = pg.connect(db)) {
            new ShopWorkload(c, 7).run(200);
        }
        writePipeline(db, "  tables: [public.customers, public.prod*]\n");
        FerryProcess second = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(second.waitFor()).as(second.stderr()).isZero();
        try (Connection c = pg.connect(db)) {
            ReplayVerifier.Result result = ReplayVerifier.verify(dir.resolve("out"), c,
                    List.of("public.customers", "public.products"));
            assertThat(result.problems()).isEmpty();
        }
        assertThat(dir.resolve("out/public.transactions")).doesNotExist();
    }

    private void createShop(String db) throws SQLException {
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, 1).seed(200, 20, 1_000);
        }
    }

    private void writePipeline(String db, String extraSource) throws IOException {
        Files.writeString(dir.resolve("pipeline.yaml"), "name: " + db + "\nsource:\n  type: postgres\n  port: " + pg.port()
                + "\n  database: " + db + "\n  user: " + pg.user() + "\n  password: ${env:PW}\n"
                + "  new_tables_check_seconds: 1\n" + extraSource + "sink:\n  type: jsonl\n  path: out\n");
    }

    private static Map<String, String> env() {
        return Map.of("PW", pg.password());
    }

    /** Pauses the workload and waits until the replay check passes (at most a minute). */
    private void awaitReplay(String db, List<String> tables, Map<String, Map<String, String>> renamed,
                             Workload workload, FerryProcess ferry) throws Exception {
        workload.paused.set(true);
        try {
            ReplayVerifier.Result result = null;
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline) {
                assertThat(ferry.isAlive()).as("ferry stopped: " + ferry.stderr()).isTrue();
                try (Connection c = pg.connect(db)) {
                    result = ReplayVerifier.verify(dir.resolve("out"), c, tables, renamed);
                }
                if (result.ok()) {
                    return;
                }
                Thread.sleep(500);
            }
            throw new AssertionError("replay check still failing after a minute: " + result + "\n" + ferry.stderr());
        } finally {
            workload.paused.set(false);
        }
    }

    /** The newest event written for a table. */
    private JsonNode lastEvent(String table) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir.resolve("out").resolve(table))) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList();
        }
        List<String> lines = Files.readAllLines(files.get(files.size() - 1));
        return MAPPER.readTree(lines.get(lines.size() - 1));
    }

    /** The shop workload in the background, paused while the replay check runs. */
    private static final class Workload implements AutoCloseable {
        final AtomicBoolean paused = new AtomicBoolean();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Workload(String db) {
            thread = new Thread(() -> {
                try (Connection c = pg.connect(db)) {
                    ShopWorkload w = new ShopWorkload(c, 42);
                    while (running.get()) {
                        if (!paused.get()) {
                            w.run(5);
                        }
                        Thread.sleep(20);
                    }
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "workload");
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join();
        }
    }
}
