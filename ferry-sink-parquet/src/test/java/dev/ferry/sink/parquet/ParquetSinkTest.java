package dev.ferry.sink.parquet;

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
import dev.ferry.sink.files.PartitionedFileSink;
import dev.ferry.testkit.CounterPosition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Parquet sink on a local folder, read back through DuckDB's read_parquet: types, rows, refusals. */
class ParquetSinkTest {
    private static final TableSchema ITEMS = new TableSchema(new TableId("public", "items"), List.of(
            Column.of("id", LogicalType.INT32, "integer", true),
            Column.of("price", LogicalType.DECIMAL, "numeric(10,2)", false),
            Column.of("exact", LogicalType.DECIMAL, "numeric", false),
            Column.of("at", LogicalType.TIMESTAMPTZ, "timestamp with time zone", false),
            Column.of("local", LogicalType.TIMESTAMP, "timestamp without time zone", false),
            Column.of("u", LogicalType.UUID, "uuid", false),
            Column.of("span", LogicalType.INTERVAL, "interval", false),
            Column.of("doc", LogicalType.JSON, "jsonb", false),
            Column.of("raw", LogicalType.BYTES, "bytea", false),
            new Column("tags", LogicalType.ARRAY, LogicalType.STRING, "text[]", false),
            Column.of("big", LogicalType.STRING, "text", false)));
    private static final Instant AT = Instant.parse("2026-12-01T10:15:00Z");

    @TempDir
    Path root;

    private PartitionedFileSink sink() {
        return new PartitionedFileSink("shop", root, PartitionedFileSink.Partitioning.DAY, format());
    }

    private ParquetFormat format() {
        return new ParquetFormat("zstd", 122_880, 64, root.resolve("_ferry/duckdb.tmp"));
    }

    private static ChangeEvent insert(long offset, String price) {
        return new ChangeEvent(Op.CREATE, ITEMS, null, Row.wrap(offset, price, "123456789012345678901234567890.123456789",
                "2026-12-01T10:15:00.123456Z", "-0044-03-15T12:00:00", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "P1Y2M3DT4H5M6.789S", "{\"k\": [1, null]}", new byte[] {0, -1}, List.of("x,y", ""), "big " + offset),
                Set.of(), new CounterPosition(offset), 7, AT);
    }

    private Connection duck() throws Exception {
        return DriverManager.getConnection("jdbc:duckdb:");
    }

    private String glob() {
        return "'" + root + "/*/*/*.parquet'";
    }

    @Test
    void writesFilesDuckDbReadsWithTheirTypes() throws Exception {
        List<ChangeEvent> events = new ArrayList<>();
        for (long o = 1; o <= 3; o++) {
            events.add(insert(o, o + ".50"));
        }
        // a TOAST-unchanged update: big is NULL and listed, never invented
        events.add(new ChangeEvent(Op.UPDATE, ITEMS, null, Row.wrap(2L, "9.99", null, null, null, null, null, null, null, null, null),
                Set.of("big"), new CounterPosition(4), 8, AT));
        try (PartitionedFileSink sink = sink()) {
            sink.write(events, Offset.of(4));
        }
        assertThat(root.resolve("public.items/_ferry_date=2026-12-01/00000000000000000004.parquet")).exists();
        try (Connection c = duck(); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet("
                    + glob() + ", hive_partitioning = true))")) {
                List<String> types = new ArrayList<>();
                while (rs.next()) {
                    types.add(rs.getString(1) + " " + rs.getString(2));
                }
                assertThat(types).containsExactly("_ferry_offset BIGINT", "_ferry_op VARCHAR", "_ferry_position VARCHAR",
                        "_ferry_committed_at TIMESTAMP WITH TIME ZONE", "_ferry_tx_id BIGINT", "_ferry_unchanged VARCHAR[]",
                        "_ferry_before_id INTEGER", "id INTEGER", "price DECIMAL(10,2)", "exact VARCHAR", "at TIMESTAMP WITH TIME ZONE", "local TIMESTAMP",
                        "u VARCHAR", "span VARCHAR", "doc VARCHAR", "raw BLOB", "tags VARCHAR[]", "big VARCHAR", "_ferry_date DATE");
            }
            try (ResultSet rs = s.executeQuery("SELECT count(*), sum(price), min(_ferry_offset), max(_ferry_offset), "
                    + "count(*) FILTER (WHERE big IS NULL AND _ferry_unchanged = ['big']), "
                    + "max(CAST(\"at\" AS VARCHAR)), max(CAST(\"local\" AS VARCHAR)), max(exact), max(tags[1]), max(length(tags[2])), "
                    + "max(to_base64(raw)), max(span) FROM read_parquet(" + glob() + ")")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(4);
                assertThat(rs.getBigDecimal(2)).isEqualByComparingTo("17.49");
                assertThat(rs.getLong(3)).isEqualTo(1);
                assertThat(rs.getLong(4)).isEqualTo(4);
                assertThat(rs.getLong(5)).isEqualTo(1);
                assertThat(rs.getString(6)).isEqualTo("2026-12-01 10:15:00.123456+00");
                assertThat(rs.getString(7)).isEqualTo("0045-03-15 (BC) 12:00:00");
                assertThat(rs.getString(8)).isEqualTo("123456789012345678901234567890.123456789");
                assertThat(rs.getString(9)).isEqualTo("x,y");
                assertThat(rs.getLong(10)).isZero();
                assertThat(rs.getString(11)).isEqualTo("AP8=");
                assertThat(rs.getString(12)).isEqualTo("P1Y2M3DT4H5M6.789S");
            }
        }
    }

    private static ChangeEvent change(Op op, long offset, long id, String price, String big, String... unchanged) {
        Row row = Row.wrap(id, price, null, null, null, null, null, null, null, null, big);
        return new ChangeEvent(op, ITEMS, op == Op.DELETE ? row : null, op == Op.DELETE ? null : row, Set.of(unchanged),
                new CounterPosition(offset), 7, AT);
    }

    private List<String> mirrorRows() throws Exception {
        List<String> rows = new ArrayList<>();
        try (Stream<Path> files = Files.list(root.resolve("_ferry_mirror/public.items"))) {
            List<Path> all = files.toList();
            assertThat(all).as("one mirror file after a commit").hasSize(1);
            try (Connection c = duck(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT _ferry_offset, id, price, big FROM read_parquet('" + all.get(0) + "') ORDER BY id")) {
                while (rs.next()) {
                    rows.add(rs.getLong(1) + ":" + rs.getInt(2) + " " + rs.getString(3) + " " + rs.getString(4));
                }
            }
        }
        return rows;
    }

    @Test
    void aMirrorHoldsEachKeysNewestRowWithUnchangedValuesKept() throws Exception {
        ParquetFormat format = format();
        try (PartitionedFileSink sink = new PartitionedFileSink("shop", root, PartitionedFileSink.Partitioning.DAY, format, format, 0)) {
            sink.write(List.of(change(Op.CREATE, 1, 1, "1.00", "one"), change(Op.CREATE, 2, 2, "2.00", "two"),
                    change(Op.CREATE, 3, 3, "3.00", "three"), change(Op.UPDATE, 4, 2, "2.50", null, "big"),
                    change(Op.DELETE, 5, 3, null, null)), Offset.of(5));
            assertThat(mirrorRows()).containsExactly("1:1 1.00 one", "4:2 2.50 two");
            // the next mirror starts from this one: an unchanged value comes from it
            sink.write(List.of(change(Op.UPDATE, 6, 1, "1.50", null, "big"), change(Op.CREATE, 7, 4, "4.00", "four")), Offset.of(7));
            assertThat(mirrorRows()).containsExactly("6:1 1.50 one", "4:2 2.50 two", "7:4 4.00 four");
            sink.write(List.of(change(Op.TRUNCATE, 8, 0, null, null), change(Op.CREATE, 9, 5, "5.00", "five")), Offset.of(9));
            assertThat(mirrorRows()).containsExactly("9:5 5.00 five");
        }
        // a crash after the mirror of a batch, before its commit: the next start removes the mirror with the batch
        Path orphan = root.resolve("_ferry_mirror/public.items/00000000000000000012.parquet");
        Files.copy(root.resolve("_ferry_mirror/public.items/00000000000000000009.parquet"), orphan);
        try (PartitionedFileSink sink = new PartitionedFileSink("shop", root, PartitionedFileSink.Partitioning.DAY, format, format, 0)) {
            sink.write(List.of(change(Op.UPDATE, 10, 5, "5.50", null, "big")), Offset.of(10));
        }
        assertThat(orphan).doesNotExist();
        assertThat(mirrorRows()).containsExactly("10:5 5.50 five");
    }

    private static ChangeEvent move(long offset, long from, long to, String big) {
        return new ChangeEvent(Op.UPDATE, ITEMS, Row.wrap(from, null, null, null, null, null, null, null, null, null, null),
                Row.wrap(to, "0.00", null, null, null, null, null, null, null, null, big), big == null ? Set.of("big") : Set.of(),
                new CounterPosition(offset), 7, AT);
    }

    @Test
    void anUpdateThatChangesTheKeyMovesTheRowInTheMirrorAndFilesWithoutTheOldKeyStillRead() throws Exception {
        ParquetFormat format = format();
        try (PartitionedFileSink sink = new PartitionedFileSink("shop", root, PartitionedFileSink.Partitioning.DAY, format, format, 0)) {
            sink.write(List.of(change(Op.CREATE, 1, 1, "1.00", "one"), change(Op.CREATE, 2, 2, "2.00", "two"),
                    change(Op.CREATE, 3, 3, "3.00", "three")), Offset.of(3));
            // 1 moves to 11, then 2 takes the free key 1: the old keys go, the previous mirror's rows too
            sink.write(List.of(move(4, 1, 11, "eleven"), move(5, 2, 1, "one again")), Offset.of(5));
            assertThat(mirrorRows()).containsExactly("5:1 0.00 one again", "3:3 3.00 three", "4:11 0.00 eleven");
            // and back within one compaction: 11 to 12, 12 to 11
            sink.write(List.of(move(6, 11, 12, "twelve"), move(7, 12, 11, "eleven again")), Offset.of(7));
            assertThat(mirrorRows()).containsExactly("5:1 0.00 one again", "3:3 3.00 three", "7:11 0.00 eleven again");
            // key changes that leave a TOASTed value unsent: the row under the new key keeps it, along a chain too
            sink.write(List.of(move(8, 3, 30, null), move(9, 30, 31, null), change(Op.UPDATE, 10, 31, "3.10", null, "big"),
                    change(Op.CREATE, 11, 3, "3.30", "a new three")), Offset.of(11));
            assertThat(mirrorRows()).containsExactly("5:1 0.00 one again", "11:3 3.30 a new three", "7:11 0.00 eleven again",
                    "10:31 3.10 three");
        }
        try (Stream<Path> history = Files.list(root.resolve("public.items/_ferry_date=2026-12-01"));
             Connection c = duck(); Statement s = c.createStatement()) {
            List<String> moved = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("SELECT _ferry_offset, _ferry_before_id FROM read_parquet(" + glob()
                    + ", union_by_name = true) WHERE _ferry_before_id IS NOT NULL ORDER BY 1")) {
                while (rs.next()) {
                    moved.add(rs.getLong(1) + ":" + rs.getInt(2));
                }
            }
            assertThat(moved).containsExactly("4:1", "5:2", "6:11", "7:12", "8:3", "9:30");
            // an earlier Ferry's file has no _ferry_before_id: a compaction from the whole history still reads it
            Path first = history.filter(f -> f.getFileName().toString().startsWith("00000000000000000003")).findFirst().orElseThrow();
            Path old = first.resolveSibling("old.parquet");
            s.execute("COPY (SELECT * EXCLUDE (_ferry_before_id) FROM read_parquet('" + first + "')) TO '" + old + "' (FORMAT parquet)");
            Files.move(old, first, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        try (Stream<Path> mirrors = Files.list(root.resolve("_ferry_mirror/public.items"))) {
            for (Path m : mirrors.toList()) {
                Files.delete(m);
            }
        }
        try (PartitionedFileSink sink = new PartitionedFileSink("shop", root, PartitionedFileSink.Partitioning.DAY, format, format, 0)) {
            sink.write(List.of(change(Op.CREATE, 12, 8, "8.00", "eight")), Offset.of(12));
        }
        assertThat(mirrorRows()).containsExactly("5:1 0.00 one again", "11:3 3.30 a new three", "12:8 8.00 eight",
                "7:11 0.00 eleven again", "10:31 3.10 three");
    }

    private static final TableSchema REGIONS = new TableSchema(new TableId("public", "regions"), List.of(
            Column.of("region", LogicalType.STRING, "text", true),
            Column.of("id", LogicalType.INT32, "integer", true),
            Column.of("big", LogicalType.STRING, "text", false)));

    private static ChangeEvent regionEvent(Op op, long offset, Row before, Row after, String... unchanged) {
        return new ChangeEvent(op, REGIONS, before, after, Set.of(unchanged), new CounterPosition(offset), 7, AT);
    }

    @Test
    void aCompositeKeyMovesAlongChainsAndBackWithItsUnsentValues() throws Exception {
        ParquetFormat format = format();
        try (PartitionedFileSink sink = new PartitionedFileSink("shop", root, PartitionedFileSink.Partitioning.DAY, format, format, 0)) {
            sink.write(List.of(regionEvent(Op.CREATE, 1, null, Row.wrap("eu", 1L, "b1")),
                    regionEvent(Op.CREATE, 2, null, Row.wrap("eu", 2L, "b2"))), Offset.of(2));
            sink.write(List.of(regionEvent(Op.UPDATE, 3, Row.wrap("eu", 1L, null), Row.wrap("us", 1L, null), "big"),
                    regionEvent(Op.UPDATE, 4, Row.wrap("eu", 2L, null), Row.wrap("eu", 1L, null), "big")), Offset.of(4));
            assertThat(regionRows()).containsExactly("4:eu/1 b2", "3:us/1 b1");
            sink.write(List.of(regionEvent(Op.UPDATE, 5, Row.wrap("us", 1L, null), Row.wrap("eu", 2L, null), "big"),
                    regionEvent(Op.DELETE, 6, Row.wrap("eu", 1L, null), null),
                    regionEvent(Op.CREATE, 7, null, Row.wrap("us", 1L, "b3"))), Offset.of(7));
            assertThat(regionRows()).containsExactly("5:eu/2 b1", "7:us/1 b3");
            sink.write(List.of(regionEvent(Op.UPDATE, 8, Row.wrap("us", 1L, null), Row.wrap("us", 9L, null), "big"),
                    regionEvent(Op.UPDATE, 9, Row.wrap("us", 9L, null), Row.wrap("us", 1L, null), "big"),
                    regionEvent(Op.UPDATE, 10, Row.wrap("eu", 2L, null), Row.wrap("us", 9L, null), "big"),
                    regionEvent(Op.UPDATE, 11, Row.wrap("us", 9L, null), Row.wrap("us", 9L, "b4"))), Offset.of(11));
            assertThat(regionRows()).containsExactly("9:us/1 b3", "11:us/9 b4");
        }
    }

    private List<String> regionRows() throws Exception {
        List<String> rows = new ArrayList<>();
        try (Stream<Path> files = Files.list(root.resolve("_ferry_mirror/public.regions"))) {
            List<Path> all = files.toList();
            assertThat(all).hasSize(1);
            try (Connection c = duck(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT _ferry_offset, region, id, big FROM read_parquet('" + all.get(0) + "') ORDER BY region, id")) {
                while (rs.next()) {
                    rows.add(rs.getLong(1) + ":" + rs.getString(2) + "/" + rs.getInt(3) + " " + rs.getString(4));
                }
            }
        }
        return rows;
    }

    @Test
    void checkSaysTheFolderIsWritableAndDuckDbLoads() {
        try (PartitionedFileSink sink = sink()) {
            List<dev.ferry.source.Check> checks = sink.check();
            assertThat(checks).extracting(dev.ferry.source.Check::status).containsOnly(dev.ferry.source.Check.Status.OK);
            assertThat(checks).extracting(dev.ferry.source.Check::detail).anyMatch(d -> d.startsWith("DuckDB v") && d.endsWith("loads"));
        }
    }

    @Test
    void aValueParquetCannotHoldIsADataErrorThatLeavesNoFile() throws Exception {
        try (PartitionedFileSink sink = sink()) {
            sink.write(List.of(insert(1, "1.00")), Offset.of(1));
            // numeric(10,2) takes NaN in PostgreSQL; DECIMAL(10,2) does not
            FerryException e = catchThrowableOfType(() -> sink.write(List.of(insert(2, "2.00"), insert(3, "NaN")), Offset.of(3)),
                    FerryException.class);
            assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
            assertThat(e.getMessage()).contains("public.items").contains("column price").contains("NaN").contains("offset 3");
            assertThat(sink.committed()).contains(Offset.of(1));
            // the pipeline writes the event before the refused one alone, as halving does
            sink.write(List.of(insert(2, "2.00")), Offset.of(2));
        }
        try (Stream<Path> files = Files.walk(root.resolve("public.items"))) {
            assertThat(files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).sorted())
                    .containsExactly("00000000000000000001.parquet", "00000000000000000002.parquet");
        }
    }

    @Test
    void aStagingFailureFailsTheWriteInsteadOfWritingAFileWithoutTheRows() throws Exception {
        // 8 MB of memory for 20 MB of rows, and a spill folder that cannot be made (under a file): the Appender's flush fails
        Files.writeString(root.resolve("not-a-folder"), "");
        ParquetFormat starved = new ParquetFormat("zstd", 122_880, 8, root.resolve("not-a-folder/duckdb.tmp"));
        List<ChangeEvent> events = new ArrayList<>();
        for (long o = 1; o <= 2_000; o++) {
            events.add(new ChangeEvent(Op.CREATE, ITEMS, null, Row.wrap(o, "1.00", null, null, null, null, null, null, null, null,
                    "x".repeat(10_000)), Set.of(), new CounterPosition(o), 7, AT));
        }
        try (PartitionedFileSink sink = new PartitionedFileSink("shop", root, PartitionedFileSink.Partitioning.DAY, starved)) {
            FerryException e = catchThrowableOfType(() -> sink.write(events, Offset.of(2_000)), FerryException.class);
            assertThat(e).as("the write must fail, not write a file without the rows").isNotNull();
            assertThat(e.kind()).isEqualTo(ErrorKind.INTERNAL);
            assertThat(e.getMessage()).contains("public.items").contains("Failed to append");
            assertThat(sink.committed()).isEmpty();
        }
        try (Stream<Path> files = Files.walk(root.resolve("public.items"))) {
            assertThat(files.filter(Files::isRegularFile)).isEmpty();
        }
    }
}
