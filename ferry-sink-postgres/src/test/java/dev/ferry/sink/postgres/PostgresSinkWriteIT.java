package dev.ferry.sink.postgres;

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
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import dev.ferry.source.Position;
import dev.ferry.testkit.PrivatePostgresTest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The sink's contract on its own, with events made by hand: ranges written again leave one copy, an
 * empty write moves the offset, a value the warehouse rejects and an incompatible type change are
 * DATA errors that name table and column and leave nothing behind, an unreachable warehouse is
 * CONNECTIVITY, and {@code check()} reports each prerequisite.
 */
class PostgresSinkWriteIT extends PrivatePostgresTest {
    private static final TableId TABLE = new TableId("public", "p");
    private static final TableSchema SCHEMA = new TableSchema(TABLE, List.of(
            Column.of("id", LogicalType.INT64, "bigint", true), Column.of("name", LogicalType.STRING, "text", false)));

    /** A position of a hand-made event: its number. */
    record Seq(long n) implements Position {
        @Override
        public String display() {
            return "#" + n;
        }

        @Override
        public boolean snapshot() {
            return false;
        }

        @Override
        public Map<String, Object> envelopeFields() {
            return Map.of();
        }

        @Override
        public int compareTo(Position o) {
            return Long.compare(n, ((Seq) o).n);
        }
    }

    private static ChangeEvent upsert(TableSchema schema, long n, Object id, Object name) {
        return new ChangeEvent(Op.CREATE, schema, null, Row.wrap(id, name), Set.of(), new Seq(n), n, Instant.now());
    }

    /** Events of offsets first..last: inserts of id n % 7 (so later ones update earlier ones). */
    private static List<ChangeEvent> events(long first, long last) {
        List<ChangeEvent> out = new ArrayList<>();
        for (long n = first; n <= last; n++) {
            out.add(upsert(SCHEMA, n, n % 7, "v" + n));
        }
        return out;
    }

    private Sink sink(String db, int port) throws Exception {
        return sink(db, port, "");
    }

    private Sink sink(String db, int port, String more) throws Exception {
        String yaml = "type: postgres\nport: " + port + "\ndatabase: " + db + "\nuser: " + pg.user() + "\npassword: '"
                + pg.password() + "'\nschema: w\n" + more;
        return new PostgresSinkFactory().create("pipe", ComponentConfig.ofYaml("sink", yaml), null);
    }

    /** The sink's YAML for database {@code db} of the test's server, schema w. */
    private String yaml(String db) {
        return "type: postgres\nport: " + pg.port() + "\ndatabase: " + db + "\nuser: " + pg.user() + "\npassword: '"
                + pg.password() + "'\nschema: w\n";
    }

    private String query(String db, String sql) throws Exception {
        try (var c = pg.connect(db); var st = c.createStatement(); var rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /**
     * An update that changes only a numeric key's scale ({@code 1.0} to {@code 1.00}, equal in
     * PostgreSQL but sent as a key change, their texts differ) deletes the old key's row and writes the
     * new one: the delete must not remove the row under the new key, which the warehouse finds equal.
     */
    @Test
    void aKeyChangeToAnEqualNumericKeepsTheRow() throws Exception {
        pg.createDatabase("rescale");
        TableSchema numeric = new TableSchema(new TableId("public", "n"), List.of(
                Column.of("id", LogicalType.DECIMAL, "numeric", true), Column.of("name", LogicalType.STRING, "text", false)));
        try (Sink sink = sink("rescale", pg.port())) {
            sink.write(List.of(upsert(numeric, 0, "1.0", "a"), upsert(numeric, 1, "2.0", "a"),
                    new ChangeEvent(Op.UPDATE, numeric, Row.wrap("1.0", "a"), Row.wrap("1.00", "b"), Set.of(), new Seq(2),
                            2, Instant.now())), Offset.of(2));
            // in a write of its own, and back and forth within one
            sink.write(List.of(new ChangeEvent(Op.UPDATE, numeric, Row.wrap("2.0", "a"), Row.wrap("2", "b"), Set.of(),
                    new Seq(3), 3, Instant.now())), Offset.of(3));
            sink.write(List.of(new ChangeEvent(Op.UPDATE, numeric, Row.wrap("1.00", "b"), Row.wrap("1.000", "c"),
                    Set.of(), new Seq(4), 4, Instant.now()), new ChangeEvent(Op.UPDATE, numeric, Row.wrap("1.000", "c"),
                    Row.wrap("1.00", "d"), Set.of(), new Seq(5), 5, Instant.now())), Offset.of(5));
        }
        assertThat(query("rescale", "SELECT string_agg(id || '=' || name, ',' ORDER BY id) FROM w.n"))
                .isEqualTo("1.00=d,2=b");
    }

    /**
     * An update that changes a row's key and leaves a TOASTed value unsent ({@code UPDATE t SET id = 2}
     * on a row with a large text): the row under the new key must keep the old row's value, as the
     * DuckDB and Parquet mirrors do (it wrote NULL there), also when the key changes twice in one write.
     */
    @Test
    void aKeyChangeKeepsTheValuesItLeftUnsent() throws Exception {
        pg.createDatabase("moved");
        try (Sink sink = sink("moved", pg.port())) {
            sink.write(List.of(upsert(SCHEMA, 0, 1L, "large")), Offset.of(0));
            sink.write(List.of(new ChangeEvent(Op.UPDATE, SCHEMA, Row.wrap(1L, null), Row.wrap(2L, null), Set.of("name"),
                    new Seq(1), 1, Instant.now())), Offset.of(1));
        }
        assertThat(query("moved", "SELECT string_agg(id || '=' || coalesce(name, 'NULL'), ',' ORDER BY id) FROM w.p"))
                .isEqualTo("2=large");
        try (Sink sink = sink("moved", pg.port())) {
            sink.write(List.of(upsert(SCHEMA, 2, 5L, "other"), new ChangeEvent(Op.UPDATE, SCHEMA, Row.wrap(2L, null),
                    Row.wrap(3L, null), Set.of("name"), new Seq(3), 3, Instant.now()), new ChangeEvent(Op.UPDATE, SCHEMA,
                    Row.wrap(3L, null), Row.wrap(4L, null), Set.of("name"), new Seq(4), 4, Instant.now())), Offset.of(4));
            sink.write(List.of(upsert(SCHEMA, 5, 6L, "six"), new ChangeEvent(Op.UPDATE, SCHEMA, Row.wrap(6L, null),
                    Row.wrap(7L, null), Set.of("name"), new Seq(6), 6, Instant.now())), Offset.of(6));
        }
        assertThat(query("moved", "SELECT string_agg(id || '=' || coalesce(name, 'NULL'), ',' ORDER BY id) FROM w.p"))
                .isEqualTo("4=large,5=other,7=six");
    }

    @Test
    void writingARangeAgainLeavesOneCopyAndAnEmptyWriteMovesTheOffset() throws Exception {
        pg.createDatabase("again");
        try (Sink sink = sink("again", pg.port())) {
            assertThat(sink.committed()).isEmpty();
            sink.write(events(0, 9), Offset.of(9));
            sink.write(events(5, 14), Offset.of(14)); // 5..9 again, cut differently
            sink.write(events(0, 4), Offset.of(4));   // all of it again
            assertThat(sink.committed()).contains(Offset.of(14));
            sink.write(List.of(), Offset.of(20));
            assertThat(sink.committed()).contains(Offset.of(20));
        }
        assertThat(query("again", "SELECT count(*) || ' ' || count(DISTINCT _ferry_offset) || ' ' || max(_ferry_offset) "
                + "FROM w.p_history")).isEqualTo("15 15 14");
        assertThat(query("again", "SELECT string_agg(id || '=' || name, ',' ORDER BY id) FROM w.p"))
                .isEqualTo("0=v14,1=v8,2=v9,3=v10,4=v11,5=v12,6=v13");
        try (Sink reopened = sink("again", pg.port())) {
            assertThat(reopened.committed()).contains(Offset.of(20));
        }
    }

    /**
     * A column added at the source reaches the sinks of several partitions at about the same time, each
     * adding it to the mirror in its own write. One that looked at the mirror's columns while another's
     * write held the column uncommitted adds it too, once the other committed: that must not fail the
     * write (a failed write stops the sink worker). Here the test's own open transaction plays the other
     * partition's write.
     */
    @Test
    void aColumnAddedByAnotherPartitionsWriteMeanwhileIsNoFailure() throws Exception {
        pg.createDatabase("racing");
        TableSchema wider = new TableSchema(TABLE, List.of(Column.of("id", LogicalType.INT64, "bigint", true),
                Column.of("name", LogicalType.STRING, "text", false), Column.of("extra", LogicalType.STRING, "text", false)));
        try (Sink p1 = new PostgresSinkFactory().createForPartition("pipe", ComponentConfig.ofYaml("sink", yaml("racing")),
                null, 1, 2);
             var other = pg.connect("racing")) {
            p1.write(List.of(upsert(SCHEMA, 0, 1L, "a")), Offset.of(0));
            other.setAutoCommit(false);
            try (var st = other.createStatement()) {
                st.execute("ALTER TABLE w.p ADD COLUMN extra text"); // holds the table until committed
            }
            java.util.concurrent.CompletableFuture<Void> write = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    p1.write(List.of(new ChangeEvent(Op.CREATE, wider, null, Row.wrap(2L, "b", "x"), Set.of(), new Seq(1), 1,
                            Instant.now())), Offset.of(1));
                } catch (FerryException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            long deadline = System.currentTimeMillis() + 30_000;
            while (!"t".equals(query("racing", "SELECT bool_or(NOT granted) FROM pg_locks WHERE relation = 'w.p'::regclass"))
                    && !write.isDone() && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            other.commit();
            write.get(60, java.util.concurrent.TimeUnit.SECONDS);
        }
        assertThat(query("racing", "SELECT string_agg(id || '=' || name || '/' || coalesce(extra, '-'), ',' ORDER BY id) "
                + "FROM w.p")).isEqualTo("1=a/-,2=b/x");
    }

    /**
     * A warehouse written from a Log of one partition, then from one of several (a new topic with
     * another partition count, as docs/kafka.md says to change it), or the other way round: the history
     * tables' key differs (with or without {@code _ferry_partition}). A CONFIG error naming the table
     * and what to do, not an INTERNAL one on a missing column, nor a DATA error per event that a
     * dead-letter policy would set aside one by one.
     */
    @Test
    void aHistoryOfAnotherPartitioningIsAConfigError() throws Exception {
        pg.createDatabase("repart");
        ComponentConfig config = ComponentConfig.ofYaml("sink", yaml("repart"));
        PostgresSinkFactory factory = new PostgresSinkFactory();
        try (Sink one = factory.create("pipe", config, null)) {
            one.write(events(0, 2), Offset.of(2));
        }
        try (Sink p0 = factory.createForPartition("pipe", config, null, 0, 2)) {
            FerryException e = catchThrowableOfType(FerryException.class, () -> p0.write(events(0, 2), Offset.of(2)));
            assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
            assertThat(e.getMessage()).contains("p_history").contains("_ferry_partition").contains("history_table_name");
        }
        pg.createDatabase("repart2");
        ComponentConfig config2 = ComponentConfig.ofYaml("sink", yaml("repart2"));
        try (Sink p0 = factory.createForPartition("pipe", config2, null, 0, 2)) {
            p0.write(events(0, 2), Offset.of(2));
        }
        try (Sink one = factory.create("pipe", config2, null)) {
            FerryException e = catchThrowableOfType(FerryException.class, () -> one.write(events(0, 2), Offset.of(2)));
            assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
            assertThat(e.getMessage()).contains("p_history").contains("_ferry_partition");
        }
    }

    @Test
    void partitionsOfASharedLogKeepTheirOwnOffsetsAndTwoWritersOfOnePartitionLeaveOneCopy() throws Exception {
        pg.createDatabase("parts");
        String yaml = yaml("parts");
        ComponentConfig config = ComponentConfig.ofYaml("sink", yaml);
        PostgresSinkFactory factory = new PostgresSinkFactory();
        try (Sink p0 = factory.createForPartition("pipe", config, null, 0, 2);
             Sink p1 = factory.createForPartition("pipe", config, null, 1, 2);
             Sink zombie = factory.createForPartition("pipe", config, null, 1, 2)) {
            // each partition numbers its events from 0: the same offsets, other keys (ids 0..6 and 10..16)
            p0.write(events(0, 9), Offset.of(9));
            List<ChangeEvent> other = new ArrayList<>();
            for (long n = 0; n <= 19; n++) {
                other.add(upsert(SCHEMA, 100 + n, 10 + n % 7, "w" + n));
            }
            p1.write(other.subList(0, 10), Offset.of(9));
            // a worker that lost partition 1 in a pause writes what the new owner already wrote, and more
            zombie.write(other.subList(5, 15), Offset.of(14));
            p1.write(other.subList(10, 20), Offset.of(19));
            assertThat(p0.committed()).contains(Offset.of(9));
            assertThat(p1.committed()).contains(Offset.of(19));
            assertThat(query("parts", "SELECT string_agg(id || '=' || name, ',' ORDER BY id) FROM w.p WHERE id >= 10"))
                    .isEqualTo("10=w14,11=w15,12=w16,13=w17,14=w18,15=w19,16=w13");
            // partition 1 is past the truncate (which every partition carries) and wrote after it; partition 0
            // applies its copy later: it empties only its own keys
            p1.write(List.of(new ChangeEvent(Op.TRUNCATE, SCHEMA, null, null, Set.of(), new Seq(200), 9, Instant.now()),
                    upsert(SCHEMA, 201, 10L, "after")), Offset.of(21));
            p0.write(List.of(new ChangeEvent(Op.TRUNCATE, SCHEMA, null, null, Set.of(), new Seq(200), 9, Instant.now())),
                    Offset.of(10));
            assertThat(query("parts", "SELECT string_agg(id || '=' || name, ',' ORDER BY id) FROM w.p"))
                    .isEqualTo("10=after");
        }
        FerryException noHistory = catchThrowableOfType(FerryException.class, () -> factory.createForPartition("pipe",
                ComponentConfig.ofYaml("sink", yaml + "history: false\n"), null, 0, 2));
        assertThat(noHistory.kind()).isEqualTo(ErrorKind.CONFIG);
        assertThat(noHistory.getMessage()).contains("history is false").contains("history: true");
        assertThat(query("parts", "SELECT string_agg(pipeline || '=' || \"offset\", ',' ORDER BY pipeline) "
                + "FROM w._ferry_offsets")).isEqualTo("pipe/0=10,pipe/1=21");
        assertThat(query("parts", "SELECT count(*) || ' ' || count(DISTINCT (_ferry_partition, _ferry_offset)) "
                + "FROM w.p_history")).isEqualTo("33 33");
        try (Sink one = factory.createForPartition("pipe", config, null, 0, 1)) {
            assertThat(one.committed()).as("a Log of one partition keeps the unpartitioned offset row").isEmpty();
        }
    }

    @Test
    void aValueTheWarehouseRejectsIsDataNamingTableColumnAndOffsetAndLeavesNothing() throws Exception {
        pg.createDatabase("poison");
        try (Sink sink = sink("poison", pg.port())) {
            sink.write(events(0, 2), Offset.of(2));
            pg.execute("poison", "ALTER TABLE w.p ALTER COLUMN name TYPE varchar(3)");
            List<ChangeEvent> batch = List.of(upsert(SCHEMA, 3, 100L, "ok"), upsert(SCHEMA, 4, 101L, "too long"));
            FerryException e = catchThrowableOfType(FerryException.class, () -> sink.write(batch, Offset.of(4)));
            assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
            assertThat(e.getMessage()).contains("public.p").contains("column name").contains("Log offset 4")
                    .contains("character varying(3)").contains("rolled back");
            assertThat(sink.committed()).contains(Offset.of(2));
            assertThat(query("poison", "SELECT count(*) FROM w.p_history")).isEqualTo("3");
            assertThat(query("poison", "SELECT count(*) FROM w.p WHERE id >= 100")).isEqualTo("0");

            // the record set aside, the sink goes on
            sink.write(batch.subList(0, 1), Offset.of(3));
            assertThat(query("poison", "SELECT name FROM w.p WHERE id = 100")).isEqualTo("ok");

            TableSchema changed = new TableSchema(TABLE, List.of(Column.of("id", LogicalType.INT64, "bigint", true),
                    Column.of("name", LogicalType.INT64, "bigint", false)));
            FerryException typeChange = catchThrowableOfType(FerryException.class,
                    () -> sink.write(List.of(upsert(changed, 5, 1L, 7L)), Offset.of(5)));
            assertThat(typeChange.kind()).isEqualTo(ErrorKind.DATA);
            assertThat(typeChange.getMessage()).contains("Column name of public.p").contains("character varying(3)")
                    .contains("ALTER TABLE");
            assertThat(sink.committed()).contains(Offset.of(3));
        }
    }

    @Test
    void withoutHistoryAKeyedTableGetsOnlyItsMirrorAndATableWithoutKeyIsRefused() throws Exception {
        pg.createDatabase("nohistory");
        TableSchema keyless = new TableSchema(new TableId("public", "k"), List.of(
                Column.of("a", LogicalType.INT64, "bigint", false)));
        try (Sink sink = sink("nohistory", pg.port(), "history: false\ntable_name: '{schema}_{table}'\n")) {
            sink.write(events(0, 9), Offset.of(9));
            FerryException e = catchThrowableOfType(FerryException.class,
                    () -> sink.write(List.of(new ChangeEvent(Op.CREATE, keyless, null, Row.wrap(1L), Set.of(), new Seq(10), 10,
                            Instant.now())), Offset.of(10)));
            assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
            assertThat(e.getMessage()).contains("public.k has no primary key").contains("history: true");
            assertThat(sink.committed()).contains(Offset.of(9));
        }
        assertThat(query("nohistory", "SELECT count(*) FROM w.public_p")).isEqualTo("7");
        assertThat(query("nohistory", "SELECT to_regclass('w.public_p_history')")).isNull();
    }

    @Test
    void anUnreachableWarehouseIsConnectivityAndCheckSaysWhat() throws Exception {
        pg.createDatabase("checked");
        try (Sink sink = sink("checked", pg.port())) {
            assertThat(sink.check()).extracting(Check::status).containsOnly(Check.Status.OK);
        }
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        try (Sink sink = sink("checked", closedPort)) {
            FerryException e = catchThrowableOfType(FerryException.class, () -> sink.write(events(0, 0), Offset.of(0)));
            assertThat(e.kind()).isEqualTo(ErrorKind.CONNECTIVITY);
            assertThat(e.getMessage()).contains("127.0.0.1:" + closedPort).doesNotContain(pg.password());
            assertThat(sink.check()).extracting(Check::status).containsExactly(Check.Status.PROBLEM);
        }
        try (Sink sink = sink("missing", pg.port())) {
            FerryException e = catchThrowableOfType(FerryException.class, sink::committed);
            assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
            assertThat(e.getMessage()).contains("database missing does not exist");
        }
    }
}
