package dev.ferry.sink.duckdb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.log.Offset;
import dev.ferry.postgres.PgPosition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rows appended straight into the mirror (no staging, no upsert): new keys, which the mirror cannot
 * hold, and whole rows replacing existing ones (deleted first), so that a re-snapshot over existing
 * rows, a write after a reopen (as after a crash), a key written by the staging path and a
 * rolled-back write leave one row per key; and values whose binary form is not certain fall back to
 * DuckDB's text cast, storing what the staging path stores.
 */
class DuckDbSinkAppendTest {
    private static final TableId ORDERS = new TableId("public", "orders");
    private static final TableSchema SCHEMA = new TableSchema(ORDERS, List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("amount", LogicalType.DECIMAL, "numeric(12,2)", false),
            Column.of("at", LogicalType.TIMESTAMPTZ, "timestamp with time zone", false)));
    /** Every type the direct path appends in binary form. */
    private static final TableSchema ALL = new TableSchema(new TableId("public", "all_direct"), List.of(
            Column.of("id", LogicalType.INT32, "integer", true),
            Column.of("b", LogicalType.BOOLEAN, "boolean", false),
            Column.of("i2", LogicalType.INT16, "smallint", false),
            Column.of("f4", LogicalType.FLOAT32, "real", false),
            Column.of("f8", LogicalType.FLOAT64, "double precision", false),
            Column.of("n", LogicalType.DECIMAL, "numeric(10,2)", false),
            Column.of("n38", LogicalType.DECIMAL, "numeric(38,10)", false),
            Column.of("nu", LogicalType.DECIMAL, "numeric", false),
            Column.of("t", LogicalType.STRING, "text", false),
            Column.of("u", LogicalType.UUID, "uuid", false),
            Column.of("by", LogicalType.BYTES, "bytea", false),
            Column.of("j", LogicalType.JSON, "jsonb", false),
            Column.of("d", LogicalType.DATE, "date", false),
            Column.of("ts", LogicalType.TIMESTAMP, "timestamp without time zone", false),
            Column.of("tz", LogicalType.TIMESTAMPTZ, "timestamp with time zone", false),
            Column.of("bits", LogicalType.BITS, "bit varying", false)));

    @TempDir
    Path dir;

    private long positions;

    private DuckDbSink sink() {
        return sink(false);
    }

    private DuckDbSink sink(boolean history) {
        return new DuckDbSink("shop", dir.resolve("w.duckdb"), true, history, 128, 16);
    }

    private ChangeEvent event(Op op, TableSchema schema, Row after) {
        positions++;
        return new ChangeEvent(op, schema, null, after, Set.of(), new PgPosition(positions, false, 0), 7,
                Instant.parse("2026-11-30T12:00:00Z"));
    }

    private ChangeEvent read(long id, String amount, String at) {
        return event(Op.READ, SCHEMA, Row.wrap(id, amount, at));
    }

    @Test
    void aSnapshotAppendsAndASnapshotAgainAfterAReopenUpsertsOverTheRowsItFinds() throws Exception {
        try (DuckDbSink sink = sink()) {
            sink.write(List.of(read(1, "1.00", "2026-01-01T00:00:00Z"), read(2, "2.00", "2026-01-02T00:00:00Z"),
                    read(3, "3.00", "2026-01-03T00:00:00Z")), Offset.of(2));
            assertThat(sink.appendedRows()).isEqualTo(3);
        }
        // reopened (as after a crash, or for ferry snapshot --table): rows 2 and 3 exist, 4 and 5 do not
        try (DuckDbSink sink = sink()) {
            sink.write(List.of(read(2, "20.00", "2026-02-02T00:00:00Z"), read(3, "30.00", "2026-02-03T00:00:00Z"),
                    read(4, "40.00", "2026-02-04T00:00:00Z"), read(5, "50.00", "2026-02-05T00:00:00Z")), Offset.of(6));
            assertThat(sink.appendedRows()).as("2 and 3 replaced, 4 and 5 new").isEqualTo(4);
            // in the same connection: the bound has risen with the rows just written, so 5 is replaced
            sink.write(List.of(read(5, "500.00", "2026-03-05T00:00:00Z"), read(6, "600.00", "2026-03-06T00:00:00Z")),
                    Offset.of(8));
            assertThat(sink.appendedRows()).isEqualTo(6);
        }
        assertThat(rows("SELECT id, amount, \"at\"::VARCHAR FROM public.orders ORDER BY id")).containsExactly(
                List.of("1", "1.00", "2026-01-01 00:00:00+00"), List.of("2", "20.00", "2026-02-02 00:00:00+00"),
                List.of("3", "30.00", "2026-02-03 00:00:00+00"), List.of("4", "40.00", "2026-02-04 00:00:00+00"),
                List.of("5", "500.00", "2026-03-05 00:00:00+00"), List.of("6", "600.00", "2026-03-06 00:00:00+00"));
    }

    @Test
    void aKeyTheStagingPathWroteIsUpsertedWhenItComesAgain() throws Exception {
        try (DuckDbSink sink = sink()) {
            // 'infinity' has no binary form: row 7 goes through the staging path, row 3 is appended
            sink.write(List.of(read(7, "7.00", "infinity"), read(3, "3.00", "2026-01-03T00:00:00Z")), Offset.of(1));
            assertThat(sink.appendedRows()).isEqualTo(1);
            // 7 is in the mirror although no appended key reached it: the bound must have risen to 7
            sink.write(List.of(read(7, "7.50", "2026-01-07T00:00:00Z"), read(8, "8.00", "-infinity")), Offset.of(3));
            sink.write(List.of(event(Op.CREATE, SCHEMA, Row.wrap(9L, "9.00", "2026-01-09T00:00:00Z"))), Offset.of(4));
            assertThat(sink.appendedRows()).as("3, 7 (replacing the staged row) and 9").isEqualTo(3);
            // updates are staged: "at" as text in the write before (for -infinity), in binary form now
            sink.write(List.of(event(Op.UPDATE, SCHEMA, Row.wrap(7L, "7.75", "2026-01-17T00:00:00.5+01:00"))), Offset.of(5));
        }
        assertThat(rows("SELECT id, amount, \"at\"::VARCHAR FROM public.orders ORDER BY id")).containsExactly(
                List.of("3", "3.00", "2026-01-03 00:00:00+00"), List.of("7", "7.75", "2026-01-16 23:00:00.5+00"),
                List.of("8", "8.00", "-infinity"), List.of("9", "9.00", "2026-01-09 00:00:00+00"));
    }

    @Test
    void aRolledBackWriteLeavesNoAppendedRowAndComesBackWhole() throws Exception {
        TableSchema events = new TableSchema(new TableId("app", "events"), List.of(
                Column.of("id", LogicalType.INT32, "integer", true),
                Column.of("at", LogicalType.TIMESTAMP, "timestamp without time zone", false)));
        List<ChangeEvent> good = List.of(read(1, "1.00", "2026-01-01T00:00:00Z"), read(2, "2.00", "2026-01-02T00:00:00Z"));
        try (DuckDbSink sink = sink()) {
            sink.write(List.of(event(Op.CREATE, events, Row.wrap(1L, "2026-01-01T00:00:00"))), Offset.of(0));
            List<ChangeEvent> withPoison = new ArrayList<>(good);
            // DuckDB's timestamps end in 294247: this one fails in the staging path's cast, after the appends
            withPoison.add(event(Op.CREATE, events, Row.wrap(2L, "294276-12-31T23:59:59")));
            FerryException e = catchThrowableOfType(() -> sink.write(withPoison, Offset.of(3)), FerryException.class);
            assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
            assertThat(sink.appendedRows()).as("the orders were appended before the failure").isEqualTo(3);
            assertThat(sink.committed()).contains(Offset.of(0));
            sink.write(good, Offset.of(2));
            sink.write(List.of(read(2, "2.50", "2026-01-02T00:00:00Z")), Offset.of(3));
            // a truncate empties the mirror, so row 1 is appended again; the write fails and is rolled back,
            // and with it the truncate: rows 1 and 2 are back, and must not be appended a second time
            FerryException again = catchThrowableOfType(() -> sink.write(List.of(event(Op.TRUNCATE, SCHEMA, null),
                    read(1, "1.25", "2026-01-01T00:00:00Z"), event(Op.CREATE, events, Row.wrap(3L, "294276-12-31T23:59:59"))),
                    Offset.of(6)), FerryException.class);
            assertThat(again.kind()).isEqualTo(ErrorKind.DATA);
            sink.write(List.of(read(1, "1.50", "2026-01-01T00:00:00Z"), read(2, "2.75", "2026-01-02T00:00:00Z")),
                    Offset.of(5));
            // row 1 deleted and appended again (a whole row replaced), then the write fails: row 1 stays as it was
            FerryException third = catchThrowableOfType(() -> sink.write(List.of(read(1, "9.99", "2026-01-01T00:00:00Z"),
                    event(Op.CREATE, events, Row.wrap(4L, "294276-12-31T23:59:59"))), Offset.of(7)), FerryException.class);
            assertThat(third.kind()).isEqualTo(ErrorKind.DATA);
        }
        assertThat(rows("SELECT id, amount FROM public.orders ORDER BY id")).containsExactly(
                List.of("1", "1.50"), List.of("2", "2.75"));
        assertThat(rows("SELECT id FROM app.events ORDER BY id")).containsExactly(List.of("1"));
    }

    @Test
    void aKeyAddedToTheMirrorOutsideFerryIsReplacedByThePipelinesRow() throws Exception {
        try (DuckDbSink sink = sink()) {
            sink.write(List.of(read(1, "1.00", "2026-01-01T00:00:00Z")), Offset.of(0));
            // above the keys the writer read: its bound is stale, the append meets the row
            behindTheSinksBack("INSERT INTO public.orders (id, amount) VALUES (2, 99)");
            // it failed with a DATA error, which record_errors set aside or stopped on, where an upsert succeeds
            sink.write(List.of(read(2, "2.00", "2026-01-02T00:00:00Z"), read(3, "3.00", "2026-01-03T00:00:00Z")),
                    Offset.of(2));
            assertThat(sink.committed()).contains(Offset.of(2));
        }
        assertThat(rows("SELECT id, amount FROM public.orders ORDER BY id")).containsExactly(List.of("1", "1.00"),
                List.of("2", "2.00"), List.of("3", "3.00"));
    }

    @Test
    void aReplayThatMeetsAKeyAddedOutsideFerryReplacesItsRow() throws Exception {
        try (DuckDbSink sink = sink(true)) {
            sink.write(List.of(read(1, "1.00", "2026-01-01T00:00:00Z")), Offset.of(1)); // offset 0 was dead-lettered
            behindTheSinksBack("INSERT INTO public.orders (id, amount) VALUES (3, 99)");
            sink.replay(event(Op.CREATE, SCHEMA, Row.wrap(3L, "3.00", "2026-01-03T00:00:00Z")), Offset.of(0));
            assertThat(sink.committed()).contains(Offset.of(1));
        }
        assertThat(rows("SELECT id, amount FROM public.orders ORDER BY id")).containsExactly(List.of("1", "1.00"),
                List.of("3", "3.00"));
        assertThat(rows("SELECT _ferry_offset FROM public.orders__history ORDER BY 1")).containsExactly(List.of("0"),
                List.of("1"));
    }

    @Test
    void aRowTheMirrorRefusesAgainWithItsKeysReadAfreshIsADataErrorAndCommitsNothing() throws Exception {
        try (DuckDbSink sink = sink()) {
            sink.write(List.of(read(1, "1.00", "2026-01-01T00:00:00Z")), Offset.of(0));
            // a constraint of the mirror's own, added outside Ferry: reading the keys again does not help
            behindTheSinksBack("CREATE UNIQUE INDEX orders_amount ON public.orders (amount)");
            FerryException e = catchThrowableOfType(() -> sink.write(List.of(read(2, "1.00", "2026-01-02T00:00:00Z")),
                    Offset.of(1)), FerryException.class);
            assertThat(e).as("the write must fail, not report success").isNotNull();
            assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
            assertThat(e.getMessage()).contains("public.orders").contains("amount").doesNotContain("..")
                    .doesNotContain("Failed to append").doesNotContain("A row of that key");
            assertThat(sink.committed()).contains(Offset.of(0));
        }
        assertThat(rows("SELECT id, amount FROM public.orders ORDER BY id")).containsExactly(List.of("1", "1.00"));
    }

    @Test
    void aKeyRefusedAgainWithTheKeysReadAfreshIsADataErrorAndCommitsNothing() throws Exception {
        try (DuckDbSink sink = sink()) {
            sink.write(List.of(read(1, "1.00", "2026-01-01T00:00:00Z")), Offset.of(0));
            // the mirror made anew outside Ferry with another primary key: no stale bound, a genuine refusal
            behindTheSinksBack("DROP TABLE public.orders");
            behindTheSinksBack("CREATE TABLE public.orders (id BIGINT, amount DECIMAL(12,2) PRIMARY KEY, "
                    + "\"at\" TIMESTAMP WITH TIME ZONE)");
            behindTheSinksBack("INSERT INTO public.orders VALUES (1, 1.00, NULL)");
            FerryException e = catchThrowableOfType(() -> sink.write(List.of(read(2, "1.00", "2026-01-02T00:00:00Z")),
                    Offset.of(1)), FerryException.class);
            assertThat(e).as("tried twice, then refused").isNotNull();
            assertThat(e.kind()).as(e.getMessage()).isEqualTo(ErrorKind.DATA);
            assertThat(e.getMessage()).contains("public.orders").contains("amount: 1.00")
                    .contains("A row of that key is there already, even with the mirror's keys read again")
                    .doesNotContain("..").doesNotContain("Failed to append");
            assertThat(sink.committed()).contains(Offset.of(0));
        }
        assertThat(rows("SELECT id, amount FROM public.orders ORDER BY id")).containsExactly(List.of("1", "1.00"));
    }

    @Test
    void aNotNullRefusalIsADataErrorWithoutTheKeyAdvice() throws Exception {
        try (DuckDbSink sink = sink()) {
            sink.write(List.of(read(1, "1.00", "2026-01-01T00:00:00Z")), Offset.of(0));
            behindTheSinksBack("ALTER TABLE public.orders ALTER COLUMN amount SET NOT NULL");
            FerryException e = catchThrowableOfType(() -> sink.write(List.of(event(Op.CREATE, SCHEMA,
                    Row.wrap(2L, null, "2026-01-02T00:00:00Z"))), Offset.of(1)), FerryException.class);
            assertThat(e).isNotNull();
            assertThat(e.kind()).as(e.getMessage()).isEqualTo(ErrorKind.DATA);
            assertThat(e.getMessage()).contains("NOT NULL").doesNotContain("A row of that key")
                    .doesNotContain("..");
            assertThat(sink.committed()).contains(Offset.of(0));
        }
    }

    @Test
    void anAppendersErrorIsTranslatedByDuckDbsOwnClass() {
        try (DuckDbSink sink = sink()) {
            FerryException e = sink.translate(new java.sql.SQLException("Failed to append: Out of Memory Error: "
                    + "could not allocate block of size 256.0 KiB."), "write", ORDERS);
            assertThat(e.kind()).isEqualTo(ErrorKind.INTERNAL);
            assertThat(e.getMessage()).contains("Raise the sink's memory_limit_mb").doesNotContain("Failed to append")
                    .doesNotContain("..");
            assertThat(sink.translate(new java.sql.SQLException("Failed to append: Conversion Error: bad value"),
                    "write", ORDERS).kind()).isEqualTo(ErrorKind.DATA);
        }
    }

    /**
     * Runs a statement through the sink's own DuckDB instance (a connection with the same settings
     * shares it) while the sink is open: a row put into the mirror behind the writer's back, whose
     * key the writer proved absent (above the keys it read). Its append meets the row when the
     * appender flushes — which the driver's close() did silently: the write reported success with
     * the row left as it was.
     */
    private void behindTheSinksBack(String sql) throws Exception {
        Properties same = new Properties();
        same.setProperty("memory_limit", "128MB");
        same.setProperty("checkpoint_threshold", "16MB");
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:" + dir.toAbsolutePath().resolve("w.duckdb"), same);
             Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    @Test
    void specialValuesFallBackToTextAndBothPathsStoreTheSame() throws Exception {
        List<Row> values = List.of(
                Row.wrap(1L, true, 7L, 1.5, 0.1, "12.50", "12345678901234567890.0123456789", "1e-3", "plain", 
                        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", new byte[] {0, (byte) 255}, "{\"k\": [1, 2.50]}", "2026-11-30",
                        "2026-11-30T12:34:56.123456", "2026-11-30T12:34:56.5+05:30", "1010"),
                Row.wrap(2L, false, -32768L, Double.NaN, -0.0, "-0.01", "0", "NaN", "", "00000000-0000-0000-0000-000000000000",
                        new byte[0], "null", "0001-01-01", "0001-01-01T00:00:00", "1969-12-31T23:59:59.999999-01", ""),
                // no binary form: the whole row is staged and cast from text
                Row.wrap(3L, null, null, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, null, null, "Infinity", null, null,
                        null, null, "infinity", "-infinity", "infinity", null),
                Row.wrap(4L, null, null, null, null, null, null, null, null, null, null, null, "0000-03-15", "-0043-01-01T00:00:00",
                        "0000-12-31T23:00:00Z", null),
                Row.wrap(5L, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null));
        List<ChangeEvent> reads = new ArrayList<>();
        values.forEach(v -> reads.add(event(Op.READ, ALL, v)));
        String select = "SELECT COLUMNS(*)::VARCHAR FROM public.all_direct ORDER BY id";
        try (DuckDbSink sink = sink(true)) {
            sink.write(reads, Offset.of(4));
            assertThat(sink.appendedRows()).as("rows 1, 2 and 5 into the mirror and the history").isEqualTo(6);
        }
        List<List<String>> appended = rows(select);
        // the same rows again, without their last column (as if dropped at the source): the mirror's
        // rows cannot be replaced whole, so all go through the staging path's casts
        TableSchema allButBits = new TableSchema(ALL.table(), ALL.columns().subList(0, ALL.size() - 1));
        List<ChangeEvent> again = new ArrayList<>();
        for (Row v : values) {
            Object[] first = new Object[allButBits.size()];
            for (int i = 0; i < first.length; i++) {
                first[i] = v.get(i);
            }
            again.add(event(Op.READ, allButBits, Row.wrap(first)));
        }
        try (DuckDbSink sink = sink(true)) {
            sink.write(again, Offset.of(9));
            assertThat(sink.appendedRows()).as("only into the history").isEqualTo(3);
        }
        assertThat(rows(select)).isEqualTo(appended);
        // the history's rows, appended (1, 2, 5) or staged (3, 4), hold the same values as the mirror
        String history = "SELECT COLUMNS(* EXCLUDE (_ferry_offset, _ferry_op, _ferry_position, _ferry_committed_at, "
                + "_ferry_tx_id, _ferry_unchanged))::VARCHAR FROM public.all_direct__history WHERE _ferry_offset BETWEEN ";
        assertThat(rows(history + "0 AND 4 ORDER BY id")).isEqualTo(appended);
        List<List<String>> withoutBits = new ArrayList<>();
        appended.forEach(r -> withoutBits.add(new ArrayList<>(r.subList(0, r.size() - 1))));
        assertThat(rows(history.replace("_ferry_unchanged)", "_ferry_unchanged, bits)") + "5 AND 9 ORDER BY id"))
                .isEqualTo(withoutBits);
        assertThat(rows("SELECT DISTINCT _ferry_op, _ferry_committed_at::VARCHAR, _ferry_tx_id, _ferry_unchanged::VARCHAR "
                + "FROM public.all_direct__history")).containsExactly(java.util.Arrays.asList("r", "2026-11-30 12:00:00+00", "7", null));
        assertThat(appended.get(0)).containsExactly("1", "true", "7", "1.5", "0.1", "12.50", "12345678901234567890.0123456789",
                "1e-3", "plain", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\\x00\\xFF", "{\"k\": [1, 2.50]}", "2026-11-30",
                "2026-11-30 12:34:56.123456", "2026-11-30 07:04:56.5+00", "1010");
        assertThat(appended.get(2)).containsExactly("3", null, null, "inf", "-inf", null, null, "Infinity", null, null, null, null,
                "infinity", "-infinity", "infinity", null);
        assertThat(appended.get(3).subList(12, 15)).containsExactly("0001-03-15 (BC)", "0044-01-01 (BC) 00:00:00",
                "0001-12-31 (BC) 23:00:00+00");
    }

    private List<List<String>> rows(String sql) throws Exception {
        return DuckDbSinkTest.rows(dir.resolve("w.duckdb"), sql);
    }
}
