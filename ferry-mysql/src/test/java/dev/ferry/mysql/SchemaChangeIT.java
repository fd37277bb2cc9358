package dev.ferry.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.testkit.PrivateMariaDbTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingMariaDb;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Schema changes while streaming: columns added and dropped, a table truncated and one dropped. Ferry
 * reads the changes only after all the DDL ran, so the catalog is ahead of every event it decodes: the
 * columns come from the binlog's own metadata (binlog_row_metadata=FULL).
 */
class SchemaChangeIT extends PrivateMariaDbTest {
    @TempDir
    Path dir;

    private static List<String> fields(JsonNode row) {
        List<String> out = new java.util.ArrayList<>();
        row.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void followsAddedAndDroppedColumnsAndReportsTruncateAndDrop() throws Exception {
        String db = MySqlSourceIT.newDatabase("CREATE TABLE items (id int PRIMARY KEY, name varchar(20), qty int)",
                "INSERT INTO items VALUES (1, 'one', 1), (2, 'two', 2)",
                "CREATE TABLE scratch (id int PRIMARY KEY)", "INSERT INTO scratch VALUES (1)");
        MySqlPipelines pipeline = new MySqlPipelines(mariadb, db, mariadb.grantCapture(), dir);
        assertThat(pipeline.runOnce()).isTrue();

        mariadb.execute(db, "INSERT INTO items VALUES (3, 'three', 3)",
                // without a default: rows already there get NULL, which needs no row event to be true in the sink
                "ALTER TABLE items ADD COLUMN note varchar(20) AFTER id",
                "INSERT INTO items (id, note, name, qty) VALUES (4, 'noted', 'four', 4)",
                "UPDATE items SET qty = 30 WHERE id = 3",
                "ALTER TABLE items DROP COLUMN name",
                "INSERT INTO items (id, note, qty) VALUES (5, 'five', 5)",
                "TRUNCATE TABLE scratch", "INSERT INTO scratch VALUES (2)",
                "DROP TABLE scratch");
        assertThat(pipeline.runOnce()).isTrue();

        List<JsonNode> items = pipeline.envelopes().stream()
                .filter(e -> e.get("source").get("table").asText().equals("items") && !e.get("source").get("snapshot").asBoolean())
                .toList();
        assertThat(items).extracting(e -> e.get("op").asText()).containsExactly("c", "c", "u", "c");
        assertThat(fields(items.get(0).get("after"))).containsExactly("id", "name", "qty");
        assertThat(fields(items.get(1).get("after"))).containsExactly("id", "note", "name", "qty");
        assertThat(items.get(1).get("after").get("note").asText()).isEqualTo("noted");
        assertThat(items.get(2).get("before").get("note").isNull()).isTrue();
        assertThat(items.get(2).get("after").get("qty").asInt()).isEqualTo(30);
        assertThat(fields(items.get(3).get("after"))).containsExactly("id", "note", "qty");

        List<JsonNode> scratch = pipeline.envelopes().stream()
                .filter(e -> e.get("source").get("table").asText().equals("scratch")).toList();
        assertThat(scratch).extracting(e -> e.get("op").asText()).containsExactly("r", "t", "c", "t");

        try (Connection c = mariadb.connect(db)) {
            ReplayVerifier.Result result = ReplayVerifier.verify(pipeline.out(), c, List.of(db + ".items"));
            assertThat(result.problems()).isEmpty();
        }
    }

    @Test
    void unsignedColumnsKeepTheirValuesWhenTheShapeComesFromTheBinlogsMetadata() throws Exception {
        String db = MySqlSourceIT.newDatabase(
                "CREATE TABLE counts (id int unsigned PRIMARY KEY, name varchar(10), qty int unsigned, delta int)",
                "INSERT INTO counts VALUES (1, 'one', 1, -1)");
        MySqlPipelines pipeline = new MySqlPipelines(mariadb, db, mariadb.grantCapture(), dir);
        assertThat(pipeline.runOnce()).isTrue();
        // the ALTER puts the catalog ahead of the insert before it, so that insert is read with the
        // binlog's metadata, whose signedness flags cover numeric columns only
        mariadb.execute(db, "INSERT INTO counts VALUES (3000000000, 'big', 4000000000, -5)",
                "ALTER TABLE counts ADD COLUMN note varchar(5)");
        assertThat(pipeline.runOnce()).isTrue();
        JsonNode inserted = pipeline.envelopes().stream()
                .filter(e -> e.get("op").asText().equals("c")).findFirst().orElseThrow().get("after");
        assertThat(inserted.get("id").asLong()).isEqualTo(3_000_000_000L);
        assertThat(inserted.get("qty").asLong()).isEqualTo(4_000_000_000L);
        assertThat(inserted.get("delta").asLong()).isEqualTo(-5);
    }

    /**
     * A MODIFY that keeps the binlog type but changes how its bytes read (signedness, ENUM members, the
     * character set): rows written before it and read after it keep the values they were written with.
     */
    @Test
    void rowsWrittenBeforeAModifyKeepTheirValues() throws Exception {
        // a geometry and a blob column before the text: the binlog's charset list must line up with the columns
        String db = MySqlSourceIT.newDatabase("CREATE TABLE m (id int PRIMARY KEY, g point, b blob, n int, "
                        + "size enum('s','l'), label varchar(10) CHARACTER SET latin1, tail varchar(10) CHARACTER SET utf8mb4)",
                "INSERT INTO m VALUES (1, POINT(1, 2), 'x', 1, 's', 'one', 'ü')");
        MySqlPipelines pipeline = new MySqlPipelines(mariadb, db, mariadb.grantCapture(), dir);
        assertThat(pipeline.runOnce()).isTrue();
        mariadb.execute(db, "INSERT INTO m VALUES (2, POINT(3, 4), 'y', -5, 'l', 'café', 'ü')",
                "DELETE FROM m WHERE id = 2", // MODIFY to unsigned refuses a negative value in the table
                "ALTER TABLE m MODIFY n int unsigned, MODIFY size enum('x','l','s'), "
                        + "MODIFY label varchar(10) CHARACTER SET utf8mb4",
                "INSERT INTO m VALUES (3, POINT(5, 6), 'z', 4000000000, 's', 'naïve', 'ü')");
        assertThat(pipeline.runOnce()).isTrue();
        List<JsonNode> changes = pipeline.envelopes().stream().filter(e -> !e.get("source").get("snapshot").asBoolean())
                .toList();
        assertThat(changes).extracting(e -> e.get("op").asText()).containsExactly("c", "d", "c");
        for (JsonNode row : List.of(changes.get(0).get("after"), changes.get(1).get("before"))) {
            assertThat(row.get("n").asLong()).isEqualTo(-5);
            assertThat(row.get("size").asText()).isEqualTo("l");
            assertThat(row.get("label").asText()).isEqualTo("café");
            assertThat(row.get("tail").asText()).isEqualTo("ü");
        }
        JsonNode after = changes.get(2).get("after");
        assertThat(after.get("n").asLong()).isEqualTo(4_000_000_000L);
        assertThat(after.get("size").asText()).isEqualTo("s");
        assertThat(after.get("label").asText()).isEqualTo("naïve");
        assertThat(after.get("tail").asText()).isEqualTo("ü");
    }

    /**
     * Without binlog_row_metadata=FULL the catalog is re-read at each DDL: exact while Ferry keeps up
     * (a run between the changes), and a clear stop when a later DDL already ran.
     */
    @Test
    void withoutFullMetadataReReadsTheCatalogAtEachDdlAndStopsWhenItIsAhead() throws Exception {
        try (TestingMariaDb minimal = TestingMariaDb.builder().option("binlog-row-metadata", "MINIMAL").start()) {
            minimal.createDatabase("shop");
            minimal.execute("shop", "CREATE TABLE items (id int PRIMARY KEY, name varchar(20))",
                    "INSERT INTO items VALUES (1, 'one')");
            MySqlPipelines pipeline = new MySqlPipelines(minimal, "shop", minimal.grantCapture(), dir);
            assertThat(pipeline.runOnce()).isTrue();
            minimal.execute("shop", "ALTER TABLE items ADD COLUMN qty int", "INSERT INTO items VALUES (2, 'two', 2)");
            assertThat(pipeline.runOnce()).isTrue();
            JsonNode added = pipeline.envelopes().get(pipeline.envelopes().size() - 1).get("after");
            assertThat(fields(added)).containsExactly("id", "name", "qty");
            assertThat(added.get("qty").asInt()).isEqualTo(2);

            // a row written before a DDL that Ferry reads only after a second one: the catalog is ahead
            minimal.execute("shop", "INSERT INTO items VALUES (3, 'three', 3)", "ALTER TABLE items DROP COLUMN qty");
            assertThatThrownBy(pipeline::runOnce).isInstanceOf(FerryException.class)
                    .satisfies(e -> assertThat(((FerryException) e).kind()).isEqualTo(ErrorKind.PREREQUISITE))
                    .hasMessageContaining("binlog_row_metadata=FULL");
        }
    }
}
