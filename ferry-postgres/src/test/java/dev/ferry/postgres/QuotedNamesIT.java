package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.config.ComponentConfig;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.Op;
import dev.ferry.event.TableId;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.source.Check;
import dev.ferry.source.Source;
import dev.ferry.testkit.PrivatePostgresTest;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Names that need quoting (spaces, double quotes, dots, upper and mixed case, reserved words), tables
 * without a primary key under REPLICA IDENTITY FULL, and generated columns: snapshot and stream must
 * agree on names, columns and values.
 */
class QuotedNamesIT extends PrivatePostgresTest {
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static final TableId ORDER_ITEMS = new TableId("Sales Dept", "Order \"Items\"");
    private static final String ORDER_ITEMS_SQL = "\"Sales Dept\".\"Order \"\"Items\"\"\"";
    private static final List<String> ORDER_ITEMS_COLUMNS = List.of("select", "Amount EUR", "CamelCase", "a.b \"c\"");

    @TempDir
    Path state;

    private final PostgresSourceFactory factory = new PostgresSourceFactory();

    @Test
    void configuredQuotedNamesArriveExactlyInSnapshotAndStream() throws Exception {
        String db = newDatabase(
                "CREATE SCHEMA \"Sales Dept\"",
                "CREATE TABLE " + ORDER_ITEMS_SQL + " (\"select\" int PRIMARY KEY, \"Amount EUR\" numeric(10,2), "
                        + "\"CamelCase\" text, \"a.b \"\"c\"\"\" text)",
                // look-alikes that differ only in case or quoting must not be captured
                "CREATE TABLE \"Sales Dept\".\"order items\" (id int PRIMARY KEY)",
                "CREATE TABLE \"User\" (\"ID\" int PRIMARY KEY, \"from\" text)",
                "CREATE TABLE \"user\" (id int PRIMARY KEY)",
                "INSERT INTO " + ORDER_ITEMS_SQL + " VALUES (1, 12.50, 'Mixed Case', 'x'), (2, NULL, 'two', NULL)",
                "INSERT INTO \"Sales Dept\".\"order items\" VALUES (1)",
                "INSERT INTO \"User\" VALUES (7, 'seven')",
                "INSERT INTO \"user\" VALUES (1)");
        String tables = "tables:\n  - '\"Sales Dept\".\"Order \"\"Items\"\"\"'\n  - '\"User\"'\n";
        CollectingSink sink = new CollectingSink();

        List<ChangeEvent> snapshot = runOnce(db, tables, sink);
        assertThat(snapshot).allMatch(e -> e.op() == Op.READ);
        assertThat(snapshot).extracting(ChangeEvent::table)
                .containsExactlyInAnyOrder(ORDER_ITEMS, ORDER_ITEMS, new TableId("public", "User"));
        ChangeEvent first = only(snapshot, ORDER_ITEMS, 1L);
        assertThat(names(first)).containsExactlyElementsOf(ORDER_ITEMS_COLUMNS);
        assertThat(first.schema().column(0).key()).isTrue();
        assertThat(values(first)).containsExactly(1L, "12.50", "Mixed Case", "x");
        assertThat(values(only(snapshot, ORDER_ITEMS, 2L))).containsExactly(2L, null, "two", null);
        ChangeEvent user = snapshot.stream().filter(e -> e.table().name().equals("User")).findFirst().orElseThrow();
        assertThat(names(user)).containsExactly("ID", "from");
        assertThat(values(user)).containsExactly(7L, "seven");

        pg.execute(db,
                "INSERT INTO " + ORDER_ITEMS_SQL + " VALUES (3, 99.99, 'three \"quoted\"', 'y')",
                "UPDATE " + ORDER_ITEMS_SQL + " SET \"Amount EUR\" = 13.00, \"CamelCase\" = 'Changed' WHERE \"select\" = 1",
                "UPDATE " + ORDER_ITEMS_SQL + " SET \"select\" = 20 WHERE \"select\" = 2",
                "DELETE FROM " + ORDER_ITEMS_SQL + " WHERE \"select\" = 3",
                "INSERT INTO \"Sales Dept\".\"order items\" VALUES (2)",
                "INSERT INTO \"user\" VALUES (2)",
                "UPDATE \"User\" SET \"from\" = 'SEVEN' WHERE \"ID\" = 7",
                "TRUNCATE " + ORDER_ITEMS_SQL);
        List<ChangeEvent> stream = runOnce(db, tables, sink);
        assertThat(stream).extracting(ChangeEvent::op)
                .containsExactly(Op.CREATE, Op.UPDATE, Op.UPDATE, Op.DELETE, Op.UPDATE, Op.TRUNCATE);
        assertThat(stream).extracting(ChangeEvent::table).containsExactly(ORDER_ITEMS, ORDER_ITEMS, ORDER_ITEMS,
                ORDER_ITEMS, new TableId("public", "User"), ORDER_ITEMS);
        for (ChangeEvent e : stream.subList(0, 4)) {
            assertThat(e.schema()).as("streamed schema of %s", e.table()).isEqualTo(first.schema());
        }
        assertThat(values(stream.get(0))).containsExactly(3L, "99.99", "three \"quoted\"", "y");
        assertThat(values(stream.get(1))).containsExactly(1L, "13.00", "Changed", "x");
        // a changed key: the old key arrives in before (replica identity default = the primary key)
        assertThat(stream.get(2).before().get(0)).isEqualTo(2L);
        assertThat(values(stream.get(2))).containsExactly(20L, null, "two", null);
        assertThat(stream.get(3).before().get(0)).isEqualTo(3L);
        assertThat(stream.get(3).after()).isNull();
        assertThat(names(stream.get(4))).containsExactly("ID", "from");
        assertThat(values(stream.get(4))).containsExactly(7L, "SEVEN");

        assertThat(runOnce(db, tables, sink)).as("nothing new on a second run").isEmpty();
    }

    @Test
    void everyTableModeFindsQuotedNamesInSnapshotAndStream() throws Exception {
        Map<TableId, String> tables = new LinkedHashMap<>();
        tables.put(ORDER_ITEMS, ORDER_ITEMS_SQL);
        tables.put(new TableId("UPPER", "MixedCase"), "\"UPPER\".\"MixedCase\"");
        tables.put(new TableId("my.schema", "t.x"), "\"my.schema\".\"t.x\"");
        tables.put(new TableId("public", "order"), "public.\"order\"");
        tables.put(new TableId("public", "Ünïcödé tâble"), "\"Ünïcödé tâble\"");
        String db = newDatabase("CREATE SCHEMA \"Sales Dept\"", "CREATE SCHEMA \"UPPER\"", "CREATE SCHEMA \"my.schema\"");
        for (String sql : tables.values()) {
            pg.execute(db, "CREATE TABLE " + sql + " (\"Key\" int PRIMARY KEY, \"group\" text, \"Amount EUR\" numeric)",
                    "INSERT INTO " + sql + " VALUES (1, 'in ' || " + literal(sql) + ", 1.10)");
        }
        CollectingSink sink = new CollectingSink();

        List<ChangeEvent> snapshot = runOnce(db, "", sink);
        assertThat(snapshot).extracting(ChangeEvent::table).containsExactlyInAnyOrderElementsOf(tables.keySet());
        Map<TableId, ChangeEvent> byTable = snapshot.stream().collect(Collectors.toMap(ChangeEvent::table, e -> e));
        tables.forEach((id, sql) -> {
            assertThat(names(byTable.get(id))).containsExactly("Key", "group", "Amount EUR");
            assertThat(values(byTable.get(id))).containsExactly(1L, "in " + sql, "1.10");
        });

        for (String sql : tables.values()) {
            pg.execute(db, "INSERT INTO " + sql + " VALUES (2, 'new', 2.20)",
                    "UPDATE " + sql + " SET \"group\" = 'updated' WHERE \"Key\" = 1",
                    "DELETE FROM " + sql + " WHERE \"Key\" = 2");
        }
        List<ChangeEvent> stream = runOnce(db, "", sink);
        assertThat(stream).hasSize(3 * tables.size());
        int i = 0;
        for (TableId id : tables.keySet()) {
            List<ChangeEvent> three = stream.subList(i, i + 3);
            i += 3;
            assertThat(three).extracting(ChangeEvent::table).containsOnly(id);
            assertThat(three).extracting(ChangeEvent::op).containsExactly(Op.CREATE, Op.UPDATE, Op.DELETE);
            assertThat(three).allSatisfy(e -> assertThat(e.schema()).isEqualTo(byTable.get(id).schema()));
            assertThat(values(three.get(0))).containsExactly(2L, "new", "2.20");
            assertThat(values(three.get(1))).containsExactly(1L, "updated", "1.10");
            assertThat(three.get(2).before().get(0)).isEqualTo(2L);
        }
        assertThat(runOnce(db, "", sink)).isEmpty();
    }

    @Test
    void replicaIdentityFullWithoutPrimaryKeyStreamsWholeBeforeRows() throws Exception {
        String table = "\"Sales Dept\".\"Audit Log\"";
        String db = newDatabase("CREATE SCHEMA \"Sales Dept\"",
                "CREATE TABLE " + table + " (\"Who\" text, \"when\" timestamp, note text, n int, big text)",
                "INSERT INTO " + table + " VALUES ('ann', '2026-01-02 03:04:05', 'first', 1, NULL), "
                        + "('bob', NULL, 'second', 2, NULL), ('bob', NULL, 'second', 2, NULL)");
        TableId id = new TableId("Sales Dept", "Audit Log");

        try (Source source = source(db, "")) {
            assertThat(source.check()).as("ferry check names the quoted table and the fix").anySatisfy(c -> {
                assertThat(c.subject()).isEqualTo("table Sales Dept.Audit Log");
                assertThat(c.status()).isEqualTo(Check.Status.WARNING);
                assertThat(c.fix()).contains("ALTER TABLE " + table + " REPLICA IDENTITY FULL;");
            });
        }
        pg.execute(db, "ALTER TABLE " + table + " REPLICA IDENTITY FULL");
        CollectingSink sink = new CollectingSink();
        List<ChangeEvent> snapshot = runOnce(db, "", sink);
        assertThat(snapshot).hasSize(3).allMatch(e -> e.table().equals(id));
        assertThat(snapshot.get(0).schema().keyIndexes()).as("no primary key: no key columns").isEmpty();

        // an incompressible value of ~96 kB, stored out of line in TOAST
        String bigValue = "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 3000) g)";
        pg.execute(db,
                "UPDATE " + table + " SET note = 'changed', \"when\" = '2027-01-01 00:00:00' WHERE n = 1",
                "DELETE FROM " + table + " WHERE n = 2",
                "INSERT INTO " + table + " VALUES ('cy', NULL, 'toasted', 3, " + bigValue + ")",
                "UPDATE " + table + " SET note = 'toasted, then changed' WHERE n = 3",
                "DELETE FROM " + table + " WHERE n = 3");
        List<ChangeEvent> stream = runOnce(db, "", sink);
        assertThat(stream).extracting(ChangeEvent::op)
                .containsExactly(Op.UPDATE, Op.DELETE, Op.DELETE, Op.CREATE, Op.UPDATE, Op.DELETE);
        assertThat(stream).allSatisfy(e -> assertThat(e.schema()).isEqualTo(snapshot.get(0).schema()));
        ChangeEvent update = stream.get(0);
        assertThat(values(update.before())).containsExactly("ann", "2026-01-02T03:04:05", "first", 1L, null);
        assertThat(values(update.after())).containsExactly("ann", "2027-01-01T00:00:00", "changed", 1L, null);
        for (ChangeEvent delete : stream.subList(1, 3)) {
            assertThat(values(delete.before())).as("each duplicate row is deleted with its whole old row")
                    .containsExactly("bob", null, "second", 2L, null);
            assertThat(delete.after()).isNull();
        }
        String big = stream.get(3).after().get(4).toString();
        assertThat(big).hasSize(96_000);
        ChangeEvent toastUpdate = stream.get(4);
        assertThat(toastUpdate.before().get(4)).as("FULL logs the old row whole, TOAST included").isEqualTo(big);
        // pgoutput sends an unchanged TOAST value of the new row as "unchanged" even under FULL; filling
        // it from the old row would be as correct
        if (toastUpdate.unchanged().isEmpty()) {
            assertThat(toastUpdate.after().get(4)).isEqualTo(big);
        } else {
            assertThat(toastUpdate.unchanged()).containsExactly("big");
            assertThat(toastUpdate.after().get(4)).isNull();
        }
        assertThat(toastUpdate.after().get(2)).isEqualTo("toasted, then changed");
        assertThat(stream.get(5).before().get(4)).isEqualTo(big);
    }

    /**
     * A primary key stored out of line (a long text key): an update of another column sends the key
     * in the new tuple as unchanged TOAST, and the old key beside it. The new row must still have its
     * key, and the update must not count as a key change (the Kafka sink sent a tombstone for the key,
     * the file sinks recorded an old key and the Parquet mirror dropped the row).
     */
    @Test
    void aKeyStoredOutOfLineStaysInTheRowOfAnUpdateThatLeftItAlone() throws Exception {
        String key = "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 70) g)";
        String db = newDatabase("CREATE TABLE docs (k text PRIMARY KEY, v int)",
                "ALTER TABLE docs ALTER COLUMN k SET STORAGE EXTERNAL");
        CollectingSink sink = new CollectingSink();
        assertThat(runOnce(db, "", sink)).isEmpty();
        pg.execute(db, "INSERT INTO docs VALUES (" + key + ", 1)", "UPDATE docs SET v = 2");

        List<ChangeEvent> stream = runOnce(db, "", sink);
        assertThat(stream).extracting(ChangeEvent::op).containsExactly(Op.CREATE, Op.UPDATE);
        String k = stream.get(0).after().get(0).toString();
        assertThat(k).hasSize(70 * 32);
        ChangeEvent update = stream.get(1);
        assertThat(update.unchanged()).as("the key is known: the old key came with it").isEmpty();
        assertThat(values(update.after())).containsExactly(k, 2L);
        assertThat(update.keyChanged()).isFalse();
    }

    /**
     * pgoutput before PostgreSQL 18 (and 18 by default) does not publish generated columns, so the
     * stream cannot carry them; the snapshot must leave them out too, or a table's events change
     * shape between snapshot and stream.
     */
    @Test
    void generatedColumnIsLeftOutOfSnapshotAndStreamAlike() throws Exception {
        String db = newDatabase("CREATE TABLE \"Line Items\" (id int PRIMARY KEY, price numeric(10,2), qty int, "
                        + "\"Total\" numeric GENERATED ALWAYS AS (price * qty) STORED, note text)",
                "INSERT INTO \"Line Items\" (id, price, qty, note) VALUES (1, 2.50, 4, 'one')");
        CollectingSink sink = new CollectingSink();
        ChangeEvent snap = runOnce(db, "", sink).get(0);
        pg.execute(db, "INSERT INTO \"Line Items\" (id, price, qty, note) VALUES (2, 1.25, 2, 'two')",
                "UPDATE \"Line Items\" SET qty = 5 WHERE id = 1");
        List<ChangeEvent> stream = runOnce(db, "", sink);
        assertThat(stream).hasSize(2);
        assertThat(names(stream.get(0))).as("the stream (pgoutput) leaves out the generated column")
                .containsExactly("id", "price", "qty", "note");
        assertThat(names(snap)).as("the snapshot has the same columns as the stream")
                .containsExactlyElementsOf(names(stream.get(0)));
        assertThat(snap.schema()).isEqualTo(stream.get(0).schema());
        assertThat(values(snap)).containsExactly(1L, "2.50", 4L, "one");
        assertThat(values(stream.get(0))).containsExactly(2L, "1.25", 2L, "two");
        assertThat(values(stream.get(1))).containsExactly(1L, "2.50", 5L, "one");
    }

    private String newDatabase(String... ddl) {
        String db = "quoted" + DATABASES.incrementAndGet();
        pg.createDatabase(db);
        pg.execute(db, ddl);
        return db;
    }

    @Test
    void replicaIdentityUsingIndexKeysEventsByTheIndexAndNothingIsNeverPublished() throws Exception {
        String db = newDatabase("CREATE TABLE coded (id int PRIMARY KEY, code text NOT NULL, v text)",
                "CREATE UNIQUE INDEX coded_code ON coded (code)", "ALTER TABLE coded REPLICA IDENTITY USING INDEX coded_code",
                "INSERT INTO coded VALUES (1, 'a', 'one'), (2, 'b', 'two')",
                "CREATE TABLE silent (id int PRIMARY KEY, v text)", "ALTER TABLE silent REPLICA IDENTITY NOTHING");
        try (Source source = source(db, "tables: [public.coded, public.silent]\n")) {
            List<Check> checks = source.check();
            assertThat(checks).anySatisfy(c -> {
                assertThat(c.subject()).isEqualTo("table public.coded");
                assertThat(c.status()).isEqualTo(Check.Status.OK);
                assertThat(c.detail()).contains("USING INDEX coded_code").contains("before holds only them");
            });
            assertThat(checks).anySatisfy(c -> {
                assertThat(c.subject()).isEqualTo("table public.silent");
                assertThat(c.status()).as("named in tables: a problem").isEqualTo(Check.Status.PROBLEM);
                assertThat(c.detail()).contains("NOTHING").contains("UPDATEs and DELETEs fail on the source");
                assertThat(c.fix()).contains("ALTER TABLE \"public\".\"silent\" REPLICA IDENTITY DEFAULT;");
            });
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> runOnce(db, "tables: [public.coded, public.silent]\n", new CollectingSink()))
                .isInstanceOf(dev.ferry.error.FerryException.class).hasMessageContaining("public.silent");
        pg.execute(db, "UPDATE silent SET v = 'still works'"); // nothing was published

        CollectingSink sink = new CollectingSink();
        List<ChangeEvent> snapshot = runOnce(db, "tables: [public.coded]\n", sink);
        assertThat(snapshot).hasSize(2);
        assertThat(snapshot.get(0).schema().keyIndexes()).as("keyed by the identity index").containsExactly(1);
        pg.execute(db, "UPDATE coded SET v = 'uno' WHERE id = 1", "UPDATE coded SET code = 'bb' WHERE id = 2",
                "DELETE FROM coded WHERE id = 1");
        List<ChangeEvent> stream = runOnce(db, "tables: [public.coded]\n", sink);
        assertThat(stream).extracting(ChangeEvent::op).containsExactly(Op.UPDATE, Op.UPDATE, Op.DELETE);
        assertThat(stream).allSatisfy(e -> assertThat(e.schema()).isEqualTo(snapshot.get(0).schema()));
        assertThat(stream.get(0).before()).as("the index column did not change").isNull();
        assertThat(values(stream.get(1).before())).containsExactly(null, "b", null);
        assertThat(values(stream.get(2).before())).containsExactly(null, "a", null);
    }

    private Source source(String db, String extraYaml) throws Exception {
        String yaml = "type: postgres\nhost: " + pg.host() + "\nport: " + pg.port() + "\ndatabase: " + db
                + "\nuser: " + pg.user() + "\npassword: '" + pg.password() + "'\n" + extraYaml;
        ComponentConfig c = ComponentConfig.ofYaml("source", yaml);
        c.rejectUnknownKeys(factory.settings());
        return factory.create(db, c);
    }

    /** A batch run into the sink; returns the events it delivered in this run. */
    private List<ChangeEvent> runOnce(String db, String extraYaml, CollectingSink sink) throws Exception {
        int before = sink.events.size();
        try (Source source = source(db, extraYaml);
             FileLog log = FileLog.open(state.resolve("log"), factory.positionCodec())) {
            new Pipeline(db, source, log, List.of(sink), List.of("collect"), 1000).run(Mode.ONCE);
        }
        return List.copyOf(sink.events.subList(before, sink.events.size()));
    }

    private static ChangeEvent only(List<ChangeEvent> events, TableId table, Object firstValue) {
        return events.stream().filter(e -> e.table().equals(table) && firstValue.equals(e.after().get(0)))
                .findFirst().orElseThrow();
    }

    private static List<String> names(ChangeEvent e) {
        return e.schema().columns().stream().map(Column::name).toList();
    }

    private static List<Object> values(ChangeEvent e) {
        return values(e.after());
    }

    private static List<Object> values(dev.ferry.event.Row row) {
        Object[] out = new Object[row.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = row.get(i);
        }
        return Arrays.asList(out);
    }

    private static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }
}
