package dev.ferry.sink.files;

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
import dev.ferry.testkit.CounterPosition;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CSV sink on a local folder: RFC 4180 text, partitions, and one copy of each event after a crash. */
class CsvSinkTest {
    private static final TableSchema ITEMS = new TableSchema(new TableId("public", "items"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("note", LogicalType.STRING, "text", false),
            new Column("tags", LogicalType.ARRAY, LogicalType.JSON, "jsonb[]", false),
            Column.of("price", LogicalType.DECIMAL, "numeric(10,2)", false),
            Column.of("ratio", LogicalType.FLOAT64, "double precision", false),
            Column.of("raw", LogicalType.BYTES, "bytea", false)));
    private static final Instant DAY1 = Instant.parse("2026-11-30T23:59:59.999999Z");
    private static final Instant DAY2 = Instant.parse("2026-12-01T00:00:00Z");

    @TempDir
    Path root;

    private PartitionedFileSink sink(PartitionedFileSink.Partitioning partitioning) {
        return new PartitionedFileSink("shop", root, partitioning, new CsvFormat());
    }

    private static ChangeEvent insert(long offset, Instant at) {
        return new ChangeEvent(Op.CREATE, ITEMS, null, Row.wrap(offset, "n" + offset, null, null, null, null), Set.of(),
                new CounterPosition(offset), 7, at);
    }

    private static List<ChangeEvent> inserts(long after, long last, Instant at) {
        List<ChangeEvent> out = new ArrayList<>();
        for (long o = after + 1; o <= last; o++) {
            out.add(insert(o, at));
        }
        return out;
    }

    private List<String> lines(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        assertThat(text).endsWith("\r\n");
        return List.of(text.split("\r\n", -1)).subList(0, text.split("\r\n", -1).length - 1);
    }

    @Test
    void writesRfc4180WithNullApartFromTheEmptyString() throws Exception {
        ChangeEvent tricky = new ChangeEvent(Op.UPDATE, ITEMS, null,
                Row.wrap(1L, "a,\"b\"\r\nc", List.of("{\"k\": \"x,y\"}", "null"), "12.50", Double.NaN, new byte[] {0, -1}),
                Set.of(), new CounterPosition(1), 7, DAY1);
        ChangeEvent empty = new ChangeEvent(Op.CREATE, ITEMS, null, Row.wrap(2L, "", List.of(), null, -0.0, new byte[0]),
                Set.of("price"), new CounterPosition(2), 8, DAY1);
        try (PartitionedFileSink sink = sink(PartitionedFileSink.Partitioning.DAY)) {
            sink.write(List.of(tricky, empty), Offset.of(2));
        }
        Path file = root.resolve("public.items/_ferry_date=2026-11-30/00000000000000000002.csv");
        String text = Files.readString(file, StandardCharsets.UTF_8);
        assertThat(text).isEqualTo(
                "_ferry_offset,_ferry_op,_ferry_position,_ferry_committed_at,_ferry_tx_id,_ferry_unchanged,_ferry_before_id,id,note,tags,price,ratio,raw\r\n"
                + "1,u,#1,2026-11-30T23:59:59.999999Z,7,,,1,\"a,\"\"b\"\"\r\nc\",\"[\"\"{\\\"\"k\\\"\": \\\"\"x,y\\\"\"}\"\",\"\"null\"\"]\",12.50,NaN,AP8=\r\n"
                + "2,c,#2,2026-11-30T23:59:59.999999Z,8,\"[\"\"price\"\"]\",,2,\"\",[],,-0.0,\"\"\r\n");
    }

    @Test
    void partitionsByCommitDateAndHourInUtc() throws Exception {
        try (PartitionedFileSink sink = sink(PartitionedFileSink.Partitioning.HOUR)) {
            sink.write(List.of(insert(1, DAY1), insert(2, DAY2), insert(3, DAY2)), Offset.of(3));
        }
        assertThat(lines(root.resolve("public.items/_ferry_date=2026-11-30/_ferry_hour=23/00000000000000000003.csv"))).hasSize(2);
        assertThat(lines(root.resolve("public.items/_ferry_date=2026-12-01/_ferry_hour=00/00000000000000000003.csv"))).hasSize(3);
    }

    @Test
    void aBatchThatDidNotCommitIsRemovedAndWrittenOnceMore() throws Exception {
        try (PartitionedFileSink sink = sink(PartitionedFileSink.Partitioning.DAY)) {
            sink.write(inserts(0, 10, DAY1), Offset.of(10));
        }
        // a crash after the files of offsets 11-20 were renamed into place, before the manifest
        Path dir = root.resolve("public.items/_ferry_date=2026-11-30");
        Files.writeString(dir.resolve("00000000000000000020.csv"), "uncommitted");
        Files.writeString(dir.resolve("00000000000000000030.csv.tmp"), "cut short");
        try (PartitionedFileSink sink = sink(PartitionedFileSink.Partitioning.DAY)) {
            assertThat(sink.committed()).contains(Offset.of(10));
            // the Log offers 6-25 again, in another cut: 6-10 are skipped
            sink.write(inserts(5, 25, DAY1), Offset.of(25));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted())
                    .containsExactly("00000000000000000010.csv", "00000000000000000025.csv");
        }
        List<String> second = lines(dir.resolve("00000000000000000025.csv"));
        assertThat(second).hasSize(16);
        assertThat(second.get(1)).startsWith("11,c,#11,");
        // a batch entirely at or below the committed offset writes nothing
        try (PartitionedFileSink sink = sink(PartitionedFileSink.Partitioning.DAY)) {
            sink.write(inserts(20, 25, DAY1), Offset.of(25));
            assertThat(sink.committed()).contains(Offset.of(25));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.count()).isEqualTo(2);
        }
    }

    @Test
    void historyRowsOfDeletesTruncatesAndUnchangedColumns() throws Exception {
        Row key = Row.wrap(4L, null, null, null, null, null);
        ChangeEvent delete = new ChangeEvent(Op.DELETE, ITEMS, key, null, Set.of(), new CounterPosition(1), 9, DAY1);
        ChangeEvent truncate = new ChangeEvent(Op.TRUNCATE, ITEMS, null, null, Set.of(), new CounterPosition(2), 9, DAY1);
        ChangeEvent toast = new ChangeEvent(Op.UPDATE, ITEMS, null, Row.wrap(5L, null, null, "1.00", 0.5, null),
                Set.of("note", "raw"), new CounterPosition(3), 10, DAY1);
        ChangeEvent read = new ChangeEvent(Op.READ, ITEMS, null, Row.wrap(6L, "r", null, null, null, null), Set.of(),
                new CounterPosition(4), 0, DAY1);
        // an update that changed the key: the old key in _ferry_before_id, so a replay deletes it
        ChangeEvent moved = new ChangeEvent(Op.UPDATE, ITEMS, key, Row.wrap(7L, "m", null, null, null, null), Set.of(),
                new CounterPosition(5), 11, DAY1);
        // the whole old row (replica identity full), key unchanged: no old key
        ChangeEvent full = new ChangeEvent(Op.UPDATE, ITEMS, Row.wrap(7L, "m", null, null, null, null),
                Row.wrap(7L, "n", null, null, null, null), Set.of(), new CounterPosition(6), 12, DAY1);
        try (PartitionedFileSink sink = sink(PartitionedFileSink.Partitioning.DAY)) {
            sink.write(List.of(delete, truncate, toast, read, moved, full), Offset.of(6));
        }
        assertThat(lines(root.resolve("public.items/_ferry_date=2026-11-30/00000000000000000006.csv"))).containsExactly(
                "_ferry_offset,_ferry_op,_ferry_position,_ferry_committed_at,_ferry_tx_id,_ferry_unchanged,_ferry_before_id,id,note,tags,price,ratio,raw",
                "1,d,#1,2026-11-30T23:59:59.999999Z,9,,,4,,,,,",
                "2,t,#2,2026-11-30T23:59:59.999999Z,9,,,,,,,,",
                "3,u,#3,2026-11-30T23:59:59.999999Z,10,\"[\"\"note\"\",\"\"raw\"\"]\",,5,,,1.00,0.5,",
                "4,r,#4,2026-11-30T23:59:59.999999Z,,,,6,r,,,,",
                "5,u,#5,2026-11-30T23:59:59.999999Z,11,,4,7,m,,,,",
                "6,u,#6,2026-11-30T23:59:59.999999Z,12,,,7,n,,,,");
    }

    @Test
    void aDeadLetteredEventIsReplayedIntoAFileOfItsOwnOnceWhateverTheReplays() throws Exception {
        try (PartitionedFileSink sink = sink(PartitionedFileSink.Partitioning.DAY)) {
            sink.write(List.of(insert(1, DAY1)), Offset.of(1));
            sink.write(List.of(), Offset.of(2)); // offset 2 went to the dead-letter log
            sink.write(List.of(insert(3, DAY1)), Offset.of(3));
        }
        try (PartitionedFileSink sink = sink(PartitionedFileSink.Partitioning.DAY)) {
            sink.replay(insert(2, DAY2), Offset.of(2));
            sink.replay(insert(2, DAY2), Offset.of(2)); // a crash before the dead-letter entry was removed
            assertThat(sink.committed()).contains(Offset.of(3));
        }
        assertThat(lines(root.resolve("public.items/_ferry_date=2026-12-01/00000000000000000002.csv")))
                .hasSize(2).element(1).asString().startsWith("2,c,#2,2026-12-01T00:00:00Z,");
        try (Stream<Path> files = Files.walk(root.resolve("public.items"))) {
            assertThat(files.filter(Files::isRegularFile).count()).isEqualTo(3);
        }
    }

    @Test
    void aColumnNamedLikeTheSinksOwnIsADataErrorAndLeavesNoFile() throws Exception {
        TableSchema odd = new TableSchema(new TableId("public", "odd"), List.of(Column.of("_ferry_op", LogicalType.INT64, "bigint", true)));
        try (PartitionedFileSink sink = sink(PartitionedFileSink.Partitioning.DAY)) {
            sink.write(List.of(insert(1, DAY1)), Offset.of(1));
            FerryException e = catchThrowableOfType(() -> sink.write(List.of(insert(2, DAY1),
                    new ChangeEvent(Op.CREATE, odd, null, Row.wrap(1L), Set.of(), new CounterPosition(3), 1, DAY1)), Offset.of(3)),
                    FerryException.class);
            assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
            assertThat(e.getMessage()).contains("public.odd").contains("_ferry_op");
            assertThat(sink.committed()).contains(Offset.of(1));
        }
        try (Stream<Path> files = Files.walk(root.resolve("public.items"))) {
            assertThat(files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()))
                    .containsExactly("00000000000000000001.csv");
        }
    }

    /** A window run's position, as JdbcPosition gives it: the event names its partition. */
    private record WindowPosition(long index) implements dev.ferry.source.Position {
        @Override
        public String display() {
            return "window 2026-11-30 #" + index;
        }

        @Override
        public boolean snapshot() {
            return false;
        }

        @Override
        public String partition() {
            return "window=2026-11-30";
        }

        @Override
        public java.util.Map<String, Object> envelopeFields() {
            return java.util.Map.of("index", index);
        }

        @Override
        public int compareTo(dev.ferry.source.Position o) {
            return Long.compare(index, ((WindowPosition) o).index);
        }
    }
}
