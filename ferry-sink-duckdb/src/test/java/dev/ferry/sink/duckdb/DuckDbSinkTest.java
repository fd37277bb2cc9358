package dev.ferry.sink.duckdb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.ferry.config.ComponentConfig;
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
import dev.ferry.source.Check;
import dev.ferry.postgres.PgPosition;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The DuckDB sink on a local file: mirror, history, offsets, TOAST, truncate, schema changes and errors. */
class DuckDbSinkTest {
    private static final TableId ORDERS = new TableId("public", "orders");
    private static final TableSchema V1 = new TableSchema(ORDERS, List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("amount", LogicalType.DECIMAL, "numeric(12,2)", false),
            Column.of("note", LogicalType.STRING, "text", false)));
    private static final TableSchema V2 = new TableSchema(ORDERS, List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("amount", LogicalType.DECIMAL, "numeric(12,2)", false),
            Column.of("note", LogicalType.STRING, "text", false),
            new Column("tags", LogicalType.ARRAY, LogicalType.STRING, "text[]", false)));

    @TempDir
    Path dir;

    private long positions;

    private DuckDbSink sink(boolean history) {
        return new DuckDbSink("shop", dir.resolve("w.duckdb"), true, history, 128, 16);
    }

    private ChangeEvent event(Op op, TableSchema schema, Row before, Row after, Set<String> unchanged) {
        positions++;
        return new ChangeEvent(op, schema, before, after, unchanged, new PgPosition(positions, false, 0), 7, Instant.parse("2026-11-30T12:00:00Z"));
    }

    private ChangeEvent insert(long id, String amount, String note) {
        return event(Op.CREATE, V1, null, Row.wrap(id, amount, note), Set.of());
    }

    private List<List<String>> rows(String sql) throws Exception {
        return rows(dir.resolve("w.duckdb"), sql);
    }

    /** The rows of a query on a DuckDB file, each value as JDBC's text, with time zones shown in UTC. */
    static List<List<String>> rows(Path file, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:" + file); Statement s = c.createStatement()) {
            s.execute("SET TimeZone = 'UTC'");
            try (ResultSet rs = s.executeQuery(sql)) {
                List<List<String>> out = new ArrayList<>();
                while (rs.next()) {
                    List<String> row = new ArrayList<>();
                    for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                        row.add(rs.getString(i));
                    }
                    out.add(row);
                }
                return out;
            }
        }
    }

    @Test
    void collapsesChangesPerKeyKeepsToastValuesAndCommitsTheOffsetWithTheData() throws Exception {
        try (DuckDbSink sink = sink(true)) {
            assertThat(sink.committed()).isEmpty();
            sink.write(List.of(insert(1, "10.50", "long text"), insert(2, "20.00", "b"), insert(3, "1.00", "c")), Offset.of(2));
            sink.write(List.of(
                    // TOAST: note unchanged, must keep "long text"
                    event(Op.UPDATE, V1, null, Row.wrap(1L, "11.00", null), Set.of("note")),
                    event(Op.DELETE, V1, Row.wrap(2L, null, null), null, Set.of()),
                    insert(4, "4.00", "d"),
                    // an insert then a TOAST-unchanged update in the same write: the inserted text stays
                    event(Op.UPDATE, V1, null, Row.wrap(4L, "4.50", null), Set.of("note")),
                    // the key changes: 3 becomes 30
                    event(Op.UPDATE, V1, Row.wrap(3L, null, null), Row.wrap(30L, "3.00", "c"), Set.of())), Offset.of(7));
            assertThat(sink.committed()).contains(Offset.of(7));
        }
        assertThat(rows("SELECT id, amount, note FROM public.orders ORDER BY id")).containsExactly(
                List.of("1", "11.00", "long text"), List.of("4", "4.50", "d"), List.of("30", "3.00", "c"));
        assertThat(rows("SELECT _ferry_offset, _ferry_op, _ferry_position, _ferry_tx_id, _ferry_unchanged::VARCHAR, id, note "
                + "FROM public.orders__history ORDER BY _ferry_offset")).containsExactly(
                nulls("0", "c", "0/1 #0", "7", null, "1", "long text"),
                nulls("1", "c", "0/2 #0", "7", null, "2", "b"), nulls("2", "c", "0/3 #0", "7", null, "3", "c"),
                nulls("3", "u", "0/4 #0", "7", "[note]", "1", null), nulls("4", "d", "0/5 #0", "7", null, "2", null),
                nulls("5", "c", "0/6 #0", "7", null, "4", "d"), nulls("6", "u", "0/7 #0", "7", "[note]", "4", null),
                nulls("7", "u", "0/8 #0", "7", null, "30", "c"));
        assertThat(rows("SELECT pipeline, \"offset\" FROM _ferry.offsets")).containsExactly(List.of("shop", "7"));
    }

    @Test
    void aKeyChangeThatLeavesAToastValueUnchangedKeepsTheValue() throws Exception {
        try (DuckDbSink sink = sink(false)) {
            sink.write(List.of(insert(1, "1.00", "large text of 1"), insert(2, "2.00", "large text of 2")), Offset.of(1));
            sink.write(List.of(
                    // 1 becomes 10; PostgreSQL does not send the unchanged TOASTed note: it is in the mirror's row 1
                    event(Op.UPDATE, V1, Row.wrap(1L, null, null), Row.wrap(10L, "1.50", null), Set.of("note")),
                    // then 10 becomes 100, the note still unchanged: still row 1's
                    event(Op.UPDATE, V1, Row.wrap(10L, null, null), Row.wrap(100L, "1.75", null), Set.of("note")),
                    // inserted and moved in the same write: the inserted note
                    insert(3, "3.00", "large text of 3"),
                    event(Op.UPDATE, V1, Row.wrap(3L, null, null), Row.wrap(30L, "3.50", null), Set.of("note")),
                    // moved, then key 2 is used again by a new row: the moved row keeps the old row's note
                    event(Op.UPDATE, V1, Row.wrap(2L, null, null), Row.wrap(20L, "2.50", null), Set.of("note")),
                    insert(2, "9.00", "new row 2")), Offset.of(7));
        }
        assertThat(rows("SELECT id, amount, note FROM public.orders ORDER BY id")).containsExactly(
                List.of("2", "9.00", "new row 2"), List.of("20", "2.50", "large text of 2"), List.of("30", "3.50", "large text of 3"),
                List.of("100", "1.75", "large text of 1"));
    }

    @Test
    void anUpdateThenAKeyChangeInOneWriteKeepTheUnchangedToastValue() throws Exception {
        try (DuckDbSink sink = sink(false)) {
            sink.write(List.of(insert(1, "1.00", "large text of 1")), Offset.of(0));
            sink.write(List.of(
                    // row 1 updated, its TOASTed note unchanged (not sent): the note is in the mirror's row 1
                    event(Op.UPDATE, V1, null, Row.wrap(1L, "1.50", null), Set.of("note")),
                    // then its key changes, the note still unchanged: still the mirror's row 1
                    event(Op.UPDATE, V1, Row.wrap(1L, null, null), Row.wrap(10L, "1.75", null), Set.of("note"))),
                    Offset.of(2));
        }
        assertThat(rows("SELECT id, amount, note FROM public.orders ORDER BY id")).containsExactly(
                List.of("10", "1.75", "large text of 1"));
    }

    /** A jdbc source's position in a window run ({@code ferry run --once --window 2026-11-30}). */
    private record WindowPosition(long index) implements dev.ferry.source.Position {
        @Override
        public String display() {
            return "window 2026-11-30 #" + index;
        }

        @Override
        public String partition() {
            return "window=2026-11-30";
        }

        @Override
        public boolean snapshot() {
            return false;
        }

        @Override
        public java.util.Map<String, Object> envelopeFields() {
            return java.util.Map.of();
        }

        @Override
        public int compareTo(dev.ferry.source.Position o) {
            return Long.compare(index, ((WindowPosition) o).index);
        }
    }

    @Test
    void aReplayedEventIsAppliedOnceAtItsOwnOffsetLeavingTheCommittedOffset() throws Exception {
        try (DuckDbSink sink = sink(true)) {
            sink.write(List.of(insert(1, "1.00", "a"), insert(2, "2.00", "b")), Offset.of(1));
            sink.write(List.of(), Offset.of(2)); // offset 2 went to the dead-letter log; delivery moved past it
            ChangeEvent fixed = event(Op.UPDATE, V1, null, Row.wrap(1L, "1.50", "fixed"), Set.of());
            sink.replay(fixed, Offset.of(2));
            sink.replay(fixed, Offset.of(2)); // a crash before the dead-letter entry was removed: replayed again
            assertThat(sink.committed()).contains(Offset.of(2));
        }
        assertThat(rows("SELECT id, amount, note FROM public.orders ORDER BY id")).containsExactly(
                List.of("1", "1.50", "fixed"), List.of("2", "2.00", "b"));
        assertThat(rows("SELECT _ferry_offset, _ferry_op, id, note FROM public.orders__history ORDER BY _ferry_offset"))
                .containsExactly(List.of("0", "c", "1", "a"), List.of("1", "c", "2", "b"), List.of("2", "u", "1", "fixed"));
    }

    private static List<String> nulls(String... values) {
        return java.util.Arrays.asList(values);
    }

    @Test
    void aRangeWrittenAgainAfterACrashLeavesOneCopy() throws Exception {
        List<ChangeEvent> events = List.of(insert(1, "1.00", "a"), insert(2, "2.00", "b"), insert(3, "3.00", "c"),
                event(Op.DELETE, V1, Row.wrap(1L, null, null), null, Set.of()));
        try (DuckDbSink sink = sink(true)) {
            sink.write(events.subList(0, 2), Offset.of(11));
        }
        try (DuckDbSink sink = sink(true)) {
            // the same range again, cut differently: offsets 10..13
            assertThat(sink.committed()).contains(Offset.of(11));
            sink.write(events.subList(0, 3), Offset.of(12));
            sink.write(events.subList(1, 4), Offset.of(13));
            sink.write(List.of(), Offset.of(20)); // nothing to write: only the offset moves
            sink.write(List.of(), Offset.of(15)); // behind the committed offset: nothing happens
            assertThat(sink.committed()).contains(Offset.of(20));
        }
        assertThat(rows("SELECT id FROM public.orders ORDER BY id")).containsExactly(List.of("2"), List.of("3"));
        assertThat(rows("SELECT _ferry_offset, id FROM public.orders__history ORDER BY 1")).containsExactly(
                List.of("10", "1"), List.of("11", "2"), List.of("12", "3"), List.of("13", "1"));
    }

    @Test
    void truncateEmptiesTheMirrorAndIsRecordedInHistory() throws Exception {
        try (DuckDbSink sink = sink(true)) {
            sink.write(List.of(insert(1, "1.00", "a"), insert(2, "2.00", "b")), Offset.of(1));
            sink.write(List.of(insert(3, "3.00", "c"), event(Op.TRUNCATE, V1, null, null, Set.of()), insert(1, "9.00", "z")),
                    Offset.of(4));
        }
        assertThat(rows("SELECT id, note FROM public.orders")).containsExactly(List.of("1", "z"));
        assertThat(rows("SELECT _ferry_op, count(*) FROM public.orders__history GROUP BY 1 ORDER BY 1"))
                .containsExactly(List.of("c", "4"), List.of("t", "1"));
    }

    @Test
    void addedColumnsAreAddedDroppedOnesKeptAndIncompatibleChangesAreDataErrors() throws Exception {
        TableSchema dropped = new TableSchema(ORDERS, List.of(V2.column(0), V2.column(1), V2.column(3)));
        TableSchema widened = new TableSchema(ORDERS, List.of(V2.column(0),
                Column.of("amount", LogicalType.DECIMAL, "numeric(14,4)", false), V2.column(3)));
        TableSchema incompatible = new TableSchema(ORDERS, List.of(V2.column(0),
                Column.of("amount", LogicalType.TIMESTAMP, "timestamp without time zone", false)));
        try (DuckDbSink sink = sink(false)) {
            sink.write(List.of(insert(1, "1.50", "a")), Offset.of(0));
            sink.write(List.of(event(Op.CREATE, V2, null, Row.wrap(2L, "2.00", "b", List.of("x", "y,z")), Set.of())), Offset.of(1));
            sink.write(List.of(event(Op.UPDATE, dropped, null, Row.wrap(1L, "1.75", List.of()), Set.of())), Offset.of(2));
            sink.write(List.of(event(Op.CREATE, widened, null, Row.wrap(3L, "123456789.1234", null), Set.of())), Offset.of(3));
            FerryException e = catchThrowableOfType(() -> sink.write(List.of(event(Op.CREATE, incompatible, null,
                    Row.wrap(4L, "2026-01-01T00:00:00"), Set.of())), Offset.of(4)), FerryException.class);
            assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
            assertThat(e.getMessage()).contains("public.orders").contains("amount").contains("DECIMAL(14,4)");
            assertThat(sink.committed()).contains(Offset.of(3));
        }
        assertThat(rows("SELECT id, amount, note, tags::VARCHAR FROM public.orders ORDER BY id")).containsExactly(
                nulls("1", "1.7500", "a", "[]"), nulls("2", "2.0000", "b", "[x, 'y,z']"), nulls("3", "123456789.1234", null, null));
        assertThat(rows("SELECT data_type FROM duckdb_columns() WHERE table_name = 'orders' AND column_name = 'amount'"))
                .containsExactly(List.of("DECIMAL(14,4)"));
    }

    @Test
    void aValueDuckDbCannotHoldIsADataErrorNamingTableAndColumnAndRollsBack() throws Exception {
        TableSchema events = new TableSchema(new TableId("app", "events"), List.of(
                Column.of("id", LogicalType.INT32, "integer", true),
                Column.of("at", LogicalType.TIMESTAMP, "timestamp without time zone", false)));
        try (DuckDbSink sink = sink(false)) {
            sink.write(List.of(event(Op.CREATE, events, null, Row.wrap(1L, "2024-02-29T12:00:00"), Set.of())), Offset.of(0));
            FerryException e = catchThrowableOfType(() -> sink.write(List.of(
                    insert(5, "5.00", "x"),
                    event(Op.CREATE, events, null, Row.wrap(2L, "2024-03-01T00:00:00"), Set.of()),
                    event(Op.CREATE, events, null, Row.wrap(3L, "294276-12-31T23:59:59.999999"), Set.of())), Offset.of(3)),
                    FerryException.class);
            assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
            assertThat(e.getMessage()).contains("app.events").contains("column at").contains("294276-12-31");
            // the write after the error goes on from the last commit
            assertThat(sink.committed()).contains(Offset.of(0));
            sink.write(List.of(event(Op.CREATE, events, null, Row.wrap(4L, null), Set.of())), Offset.of(1));
        }
        assertThat(rows("SELECT id FROM app.events ORDER BY id")).containsExactly(List.of("1"), List.of("4"));
        assertThat(rows("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'orders'")).containsExactly(List.of("0"));
    }

    @Test
    void arraysKeepEveryElementExactly() throws Exception {
        TableSchema lists = new TableSchema(new TableId("public", "lists"), List.of(
                Column.of("id", LogicalType.INT32, "integer", true),
                new Column("f", LogicalType.ARRAY, LogicalType.FLOAT64, "double precision[]", false),
                new Column("b", LogicalType.ARRAY, LogicalType.BYTES, "bytea[]", false)));
        try (DuckDbSink sink = sink(false)) {
            sink.write(List.of(event(Op.CREATE, lists, null, Row.wrap(1L,
                    java.util.Arrays.asList(Double.NaN, -0.0, 0.1, null, Double.NEGATIVE_INFINITY),
                    java.util.Arrays.asList(new byte[] {0, (byte) 255}, new byte[0], null)), Set.of())), Offset.of(0));
        }
        assertThat(rows("SELECT f::VARCHAR, b::VARCHAR FROM public.lists")).containsExactly(
                List.of("[nan, -0.0, 0.1, NULL, -inf]", "['\\\\x00\\\\xFF', '', NULL]"));
    }

    @Test
    void aTableWithoutKeyGetsHistoryOnly() throws Exception {
        TableSchema keyless = new TableSchema(new TableId("public", "log"), List.of(
                Column.of("line", LogicalType.STRING, "text", false)));
        try (DuckDbSink sink = sink(false)) {
            sink.write(List.of(event(Op.CREATE, keyless, null, Row.wrap("a"), Set.of()),
                    event(Op.DELETE, keyless, Row.wrap("a"), null, Set.of())), Offset.of(1));
        }
        assertThat(rows("SELECT _ferry_op, line FROM public.log__history ORDER BY _ferry_offset"))
                .containsExactly(List.of("c", "a"), List.of("d", "a"));
        assertThat(rows("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'log'")).containsExactly(List.of("0"));
    }

    @Test
    void aSinkThatWouldWriteNothingIsAConfigurationError() throws Exception {
        ComponentConfig config = ComponentConfig.ofYaml("sink",
                "type: duckdb\npath: w.duckdb\nmirror: false\n");
        FerryException e = catchThrowableOfType(() -> new DuckDbSinkFactory().create("p", config, null), FerryException.class);
        assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
        assertThat(e.getMessage()).contains("mirror is false");
    }

    @Test
    void checkNamesTheProcessThatHoldsTheFile() throws Exception {
        try (DuckDbSink first = sink(false)) {
            first.write(List.of(insert(1, "1.00", "a")), Offset.of(0));
            assertThat(first.check()).extracting(Check::status).containsOnly(Check.Status.OK);
            // a second process would see DuckDB's lock; a second connection of this process sees the
            // same file through DuckDB's instance cache, so the lock error is shown with a child JVM
            // in DuckDbSinkIT. Here: another pipeline's file is refused.
        }
        try (DuckDbSink other = new DuckDbSink("other", dir.resolve("w.duckdb"), true, false, 128, 16)) {
            FerryException e = catchThrowableOfType(other::committed, FerryException.class);
            assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
            assertThat(e.getMessage()).contains("belongs to pipeline shop");
        }
        try (DuckDbSink sink = sink(false)) {
            Optional<Offset> committed = sink.committed();
            assertThat(committed).contains(Offset.of(0));
        }
    }
}
