package dev.ferry.sink.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.EnvelopeWriter;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.log.DurableRecord;
import dev.ferry.log.Offset;
import dev.ferry.source.Check;
import dev.ferry.source.SourceInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import dev.ferry.testkit.CounterPosition;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JSONL sink on a local folder: layout, manifest, and exactly one copy of each event after a crash. */
class JsonlSinkTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final EnvelopeWriter ENVELOPES = new EnvelopeWriter(new SourceInfo("postgresql", "shop", "shopdb"));
    private static final TableSchema ORDERS = new TableSchema(new TableId("public", "orders"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("doc", LogicalType.JSON, "json", false)));
    private static final TableSchema ODD = new TableSchema(new TableId("Sales Data", "q1/2024"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true)));

    @TempDir
    Path root;

    private JsonlSink sink() {
        return new JsonlSink("shop", root, ENVELOPES);
    }

    /** The event at Log offset {@code offset}: even offsets go to public.orders, odd ones to the odd table. */
    private static ChangeEvent event(long offset) {
        TableSchema schema = offset % 2 == 0 ? ORDERS : ODD;
        Row row = schema == ORDERS ? Row.wrap(offset, "{\"n\": " + offset + "}") : Row.wrap(offset);
        return new ChangeEvent(Op.CREATE, schema, null, row, Set.of(), new CounterPosition(offset), 1, Instant.EPOCH);
    }

    /** The events of offsets {@code (after, last]}. */
    private static List<ChangeEvent> range(long after, long last) {
        List<ChangeEvent> out = new ArrayList<>();
        for (long o = after + 1; o <= last; o++) {
            out.add(event(o));
        }
        return out;
    }

    private void write(JsonlSink sink, long after, long last) throws FerryException {
        sink.write(range(after, last), Offset.of(last));
    }

    @Test
    void writesOneFolderPerTableAndOneFileNamedByTheLastOffset() throws Exception {
        try (JsonlSink sink = sink()) {
            assertThat(sink.committed()).isEmpty();
            write(sink, -1, 4);
            sink.write(List.of(event(6)), Offset.of(6));
        }

        Path orders = root.resolve("public.orders");
        Path odd = root.resolve("Sales%20Data.q1%2F2024");
        assertThat(fileNames(orders)).containsExactly("00000000000000000004.jsonl", "00000000000000000006.jsonl");
        assertThat(fileNames(odd)).containsExactly("00000000000000000004.jsonl");
        assertThat(fileNames(root)).containsExactlyInAnyOrder("_ferry", "public.orders", "Sales%20Data.q1%2F2024");

        List<JsonNode> first = lines(orders.resolve("00000000000000000004.jsonl"));
        assertThat(first).extracting(n -> n.get("after").get("id").asLong()).containsExactly(0L, 2L, 4L);
        assertThat(first.get(1).get("op").asText()).isEqualTo("c");
        assertThat(first.get(1).get("after").get("doc").get("n").asLong()).isEqualTo(2);
        assertThat(first.get(1).get("source").get("counter").asLong()).isEqualTo(2);
        assertThat(first.get(1).get("source").get("table").asText()).isEqualTo("orders");
        assertThat(lines(odd.resolve("00000000000000000004.jsonl")))
                .extracting(n -> n.get("after").get("id").asLong()).containsExactly(1L, 3L);

        JsonNode manifest;
        try (DurableRecord record = DurableRecord.open(root.resolve("_ferry"), "offset.json")) {
            manifest = MAPPER.readTree(record.read().orElseThrow());
        }
        assertThat(manifest.get("pipeline").asText()).isEqualTo("shop");
        assertThat(manifest.get("offset").asLong()).isEqualTo(6);
        assertThat(Instant.parse(manifest.get("committed_at").asText())).isBeforeOrEqualTo(Instant.now());
    }

    @Test
    void filesHoldExactlyOneEnvelopePerLine() throws Exception {
        try (JsonlSink sink = sink()) {
            write(sink, -1, 99);
        }
        String text = Files.readString(root.resolve("public.orders/00000000000000000099.jsonl"));

        assertThat(text).endsWith("}\n").doesNotContain("\n\n").doesNotStartWith("\n");
        assertThat(text.split("\n", -1)).hasSize(51); // 50 lines and the empty rest after the last newline
    }

    @Test
    void jsonValueWrittenOverSeveralLinesStaysOnOneLine() throws Exception {
        // PostgreSQL's json type keeps its input text as written, line breaks included
        ChangeEvent pretty = new ChangeEvent(Op.CREATE, ORDERS, null,
                Row.wrap(0L, "{\n  \"a\": [1,\r\n 2],\n  \"b\": \"x\\ny\"\n}\n"), Set.of(), new CounterPosition(0), 1, Instant.EPOCH);
        try (JsonlSink sink = sink()) {
            sink.write(List.of(pretty, event(2)), Offset.of(2));
        }

        List<String> lines = Files.readAllLines(root.resolve("public.orders/00000000000000000002.jsonl"));

        assertThat(lines).hasSize(2);
        JsonNode doc = MAPPER.readTree(lines.get(0)).get("after").get("doc");
        assertThat(doc.get("a").toString()).isEqualTo("[1,2]");
        assertThat(doc.get("b").asText()).isEqualTo("x\ny");
    }

    @Test
    void freshSinkReadsTheCommittedOffsetBack() throws Exception {
        try (JsonlSink sink = sink()) {
            write(sink, -1, 4);
            write(sink, 4, 9);
            assertThat(sink.committed()).contains(Offset.of(9));
        }
        try (JsonlSink sink = sink()) {
            assertThat(sink.committed()).contains(Offset.of(9));
        }
    }

    @Test
    void freshFolderHasNothingCommitted() throws Exception {
        try (JsonlSink sink = new JsonlSink("shop", root.resolve("not/yet/created"), ENVELOPES)) {
            assertThat(sink.committed()).isEmpty();
        }
    }

    @Test
    void crashBetweenDataFilesAndManifestLeavesNothingBehind() throws Exception {
        try (JsonlSink sink = sink()) {
            write(sink, -1, 4);
        }
        // What a crash after the data renames but before the manifest rename leaves: files past the
        // manifest's offset in each table folder, and a half-written temporary file.
        Path orders = root.resolve("public.orders");
        Path odd = root.resolve("Sales%20Data.q1%2F2024");
        Files.copy(orders.resolve("00000000000000000004.jsonl"), orders.resolve("00000000000000000009.jsonl"));
        Files.writeString(odd.resolve("00000000000000000009.jsonl"), "{\"op\":\"c\"}\n");
        Files.writeString(odd.resolve("00000000000000000012.jsonl.tmp"), "{\"op\":");
        Files.writeString(root.resolve("_ferry/offset.json.tmp"), "{\"pipe");

        try (JsonlSink sink = sink()) {
            assertThat(sink.committed()).contains(Offset.of(4));
            assertThat(fileNames(odd)).as("reading the offset deletes nothing").contains("00000000000000000009.jsonl");

            write(sink, 4, 9); // the Log delivers (4, 9] again: the leftovers go first
            assertThat(fileNames(orders)).containsExactly("00000000000000000004.jsonl", "00000000000000000009.jsonl");
            assertThat(fileNames(odd)).containsExactly("00000000000000000004.jsonl", "00000000000000000009.jsonl");
        }
        assertThat(allIds()).containsExactlyElementsOf(range(-1, 9).stream().map(this::id).toList());
        try (JsonlSink sink = sink()) {
            assertThat(sink.committed()).contains(Offset.of(9));
        }
    }

    @Test
    void readingTheCommittedOffsetWhileAnotherInstanceWritesDeletesNothing() throws Exception {
        try (JsonlSink writer = sink()) {
            write(writer, -1, 4);
            // the writer has renamed the files of (4, 9] into place and not yet written the manifest
            // when `ferry status` reads the committed offset through an instance of its own
            Path orders = root.resolve("public.orders");
            Files.copy(orders.resolve("00000000000000000004.jsonl"), orders.resolve("00000000000000000009.jsonl"));
            try (JsonlSink status = sink()) {
                assertThat(status.committed()).contains(Offset.of(4));
            }
            assertThat(fileNames(orders)).contains("00000000000000000009.jsonl");
        }
    }

    @Test
    void rangeDeliveredAgainInOtherBatchesAfterCrashLeavesOneCopy() throws Exception {
        try (JsonlSink sink = sink()) {
            write(sink, -1, 4);
            Path slots = root.resolve("_ferry");
            byte[] a = Files.readAllBytes(slots.resolve("offset.json.a"));
            write(sink, 4, 11);
            // the manifest's write of (4, 11] went to slot b; a crash in the middle of it leaves slot b torn
            assertThat(Files.readAllBytes(slots.resolve("offset.json.a"))).isEqualTo(a);
            byte[] b = Files.readAllBytes(slots.resolve("offset.json.b"));
            Files.write(slots.resolve("offset.json.b"), java.util.Arrays.copyOf(b, b.length / 2));
        }
        try (JsonlSink sink = sink()) {
            // no committed() first: write() must clean up on its own
            write(sink, 4, 6);
            write(sink, 6, 11);
            write(sink, 11, 13);
        }

        assertThat(allIds()).containsExactlyElementsOf(range(-1, 13).stream().map(this::id).toList());
        try (JsonlSink sink = sink()) {
            assertThat(sink.committed()).contains(Offset.of(13));
        }
    }

    @Test
    void sameBatchWrittenTwiceLeavesOneCopy() throws Exception {
        try (JsonlSink sink = sink()) {
            write(sink, -1, 4);
            write(sink, 4, 9);
            write(sink, 4, 9);
            assertThat(sink.committed()).contains(Offset.of(9));
        }
        try (JsonlSink sink = sink()) {
            write(sink, 4, 9);
        }

        assertThat(allIds()).containsExactlyElementsOf(range(-1, 9).stream().map(this::id).toList());
    }

    @Test
    void batchReachingBackBeforeTheCommittedOffsetWritesOnlyTheNewEvents() throws Exception {
        try (JsonlSink sink = sink()) {
            write(sink, -1, 9);
            write(sink, 4, 14); // offsets 5..9 are committed already
            write(sink, 2, 7);  // everything committed: nothing written, the manifest does not move back
            assertThat(sink.committed()).contains(Offset.of(14));
        }
        assertThat(allIds()).containsExactlyElementsOf(range(-1, 14).stream().map(this::id).toList());
    }

    @Test
    void folderOfAnotherPipelineIsAConfigError() throws Exception {
        try (JsonlSink other = new JsonlSink("billing", root, ENVELOPES)) {
            write(other, -1, 3);
        }

        try (JsonlSink sink = sink()) {
            FerryException e = catchThrowableOfType(FerryException.class, sink::committed);
            assertThat(e).isNotNull();
            assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG);
            assertThat(e.getMessage()).contains("belongs to pipeline billing, not shop").contains(root.toString());

            FerryException onWrite = catchThrowableOfType(FerryException.class, () -> write(sink, 3, 5));
            assertThat(onWrite).isNotNull();
            assertThat(onWrite.kind()).isEqualTo(ErrorKind.CONFIG);
        }
        // nothing of billing's was touched
        assertThat(fileNames(root.resolve("public.orders"))).containsExactly("00000000000000000003.jsonl");
    }

    @Test
    void unreadableManifestIsAnInternalError() throws Exception {
        Files.createDirectories(root.resolve("_ferry"));
        Files.writeString(root.resolve("_ferry/offset.json"), "{\"pipeline\": \"shop\", \"off");

        try (JsonlSink sink = sink()) {
            FerryException e = catchThrowableOfType(FerryException.class, sink::committed);
            assertThat(e).isNotNull();
            assertThat(e.kind()).isEqualTo(ErrorKind.INTERNAL);
            assertThat(e.getMessage()).contains("offset.json");
        }
    }

    @Test
    void checkReportsAWritableFolder() {
        try (JsonlSink sink = sink()) {
            List<Check> checks = sink.check();
            assertThat(checks).extracting(Check::status).containsOnly(Check.Status.OK);
        }
    }

    private long id(ChangeEvent e) {
        return (Long) e.after().get(0);
    }

    /** Every row id in every data file, in offset order: one per event exactly once if delivery is exact. */
    private List<Long> allIds() throws IOException {
        List<long[]> found = new ArrayList<>();
        for (String table : fileNames(root)) {
            if (table.equals("_ferry")) {
                continue;
            }
            for (String file : fileNames(root.resolve(table))) {
                assertThat(file).matches("\\d{20}\\.jsonl");
                for (JsonNode n : lines(root.resolve(table).resolve(file))) {
                    found.add(new long[] {n.get("source").get("counter").asLong(), n.get("after").get("id").asLong()});
                }
            }
        }
        found.sort((a, b) -> Long.compare(a[0], b[0]));
        return found.stream().map(a -> a[1]).toList();
    }

    private static List<JsonNode> lines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            out.add(MAPPER.readTree(line));
        }
        return out;
    }

    private static List<String> fileNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

}
