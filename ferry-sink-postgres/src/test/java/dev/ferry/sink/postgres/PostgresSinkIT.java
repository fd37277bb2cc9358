package dev.ferry.sink.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replay check for the postgres sink: a table with every type of ferry-postgres' TypeCoverageIT,
 * captured from a private PostgreSQL into a warehouse database on the same server, through a mixed
 * workload (inserts, updates, a key change, deletes, an update that leaves a TOASTed value unchanged,
 * a truncate, columns added and dropped) and a table without a key; after each run the mirror
 * equals the source row by row, table to table, and the history holds each change once.
 */
class PostgresSinkIT extends PrivatePostgresTest {
    private static final String BIG = "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 400) g)";

    @TempDir
    Path state;

    static List<String> fixture(String name) throws IOException {
        try (InputStream in = PostgresSinkIT.class.getResourceAsStream("/sql/" + name)) {
            List<String> out = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.startsWith("--")) {
                    out.add(line);
                }
            }
            return out;
        }
    }

    @Test
    void mirrorEqualsSourceAfterMixedWorkloadOfEveryType() throws Exception {
        pg.createDatabase("types");
        pg.createDatabase("warehouse");
        pg.execute("types", fixture("alltypes.sql").toArray(String[]::new));
        pg.execute("types", "CREATE TABLE nokey (a int, b text)", "ALTER TABLE nokey REPLICA IDENTITY FULL", "INSERT INTO nokey VALUES (1, 'one'), (1, 'one')",
                "UPDATE alltypes SET big = " + BIG + " WHERE id = 1");
        Warehouse w = new Warehouse(pg, "types", pg, "warehouse", "types", state);

        w.runOnce();
        w.assertMirrorsEqual("alltypes");
        assertThat(w.query("SELECT count(*) FROM types.alltypes_history WHERE _ferry_op = 'r'")).isEqualTo("5");
        assertThat(w.query("SELECT count(*) FROM types.nokey_history")).isEqualTo("2");
        assertThat(w.query("SELECT to_regclass('types.nokey')")).isNull();

        pg.execute("types",
                "UPDATE alltypes SET i4 = i4 - 1 WHERE id = 1", // big stays in TOAST: pgoutput sends it as unchanged
                "UPDATE alltypes SET t = 'changed', a_i4 = '{9,8}', jb = '{\"new\": true}' WHERE id = 2",
                "DELETE FROM alltypes WHERE id = 3",
                "UPDATE alltypes SET id = 7 WHERE id = 4",
                "INSERT INTO alltypes (id, t, big) VALUES (6, 'six', " + BIG + ")",
                "UPDATE alltypes SET t = 'six again' WHERE id = 6", // unchanged big, set earlier in the same batch
                "INSERT INTO alltypes (id) VALUES (8)",
                "DELETE FROM alltypes WHERE id = 8",
                "INSERT INTO nokey VALUES (2, 'two')");
        w.runOnce();
        w.assertMirrorsEqual("alltypes");
        assertThat(w.query("SELECT length(big) FROM types.alltypes WHERE id = 1")).isEqualTo("12800");
        assertThat(w.query("SELECT _ferry_unchanged::text FROM types.alltypes_history WHERE _ferry_op = 'u' AND id = 1"))
                .isEqualTo("{big}");

        pg.execute("types",
                "UPDATE alltypes SET t = 'before truncate' WHERE id = 1", // the staging table twice in one batch
                "TRUNCATE alltypes",
                "INSERT INTO alltypes (id, t, big) VALUES (1, 'after truncate', 'small')",
                "ALTER TABLE alltypes ADD COLUMN added numeric(8,2)",
                "INSERT INTO alltypes (id, added) VALUES (2, 12.5)",
                "ALTER TABLE alltypes DROP COLUMN m",
                "UPDATE alltypes SET t = 'after drop' WHERE id = 1",
                "ALTER TABLE alltypes ALTER COLUMN i2 TYPE bigint",
                "INSERT INTO alltypes (id, i2) VALUES (3, 9223372036854775807)");
        w.runOnce();
        w.assertMirrorsEqual("alltypes");
        assertThat(w.query("SELECT count(*) FROM types.alltypes_history WHERE _ferry_op = 't'")).isEqualTo("1");
        assertThat(w.query("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                + "WHERE attrelid = 'types.alltypes'::regclass AND attname = 'i2'")).isEqualTo("bigint");
        assertThat(w.query("SELECT count(*) FROM types.alltypes WHERE m IS NOT NULL")).isEqualTo("0");
        // each change once in the history: 5 snapshot reads, 8 changes, then 1 change, a truncate and 4 changes
        assertThat(w.query("SELECT count(*) || ' ' || count(DISTINCT _ferry_position) FROM types.alltypes_history"))
                .isEqualTo("19 19");

        // a second run finds nothing new and changes nothing
        String offset = w.query("SELECT \"offset\" FROM types._ferry_offsets");
        w.runOnce();
        assertThat(w.query("SELECT \"offset\" FROM types._ferry_offsets")).isEqualTo(offset);
        assertThat(w.query("SELECT count(*) FROM types.alltypes_history")).isEqualTo("19");
    }
}
