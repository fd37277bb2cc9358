package dev.ferry.sink.files;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.EnvelopeWriter;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.log.Offset;
import dev.ferry.source.Position;
import dev.ferry.source.SourceInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Window partitions of the JSONL sink: one file per table and window, replaced by a re-run, exactly once. */
class JsonlPartitionsTest {
    private static final EnvelopeWriter ENVELOPES = new EnvelopeWriter(new SourceInfo("jdbc", "shop", "shopdb"));
    private static final TableSchema ORDERS = new TableSchema(new TableId("public", "orders"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true)));

    @TempDir
    Path root;

    /** A batch run's position: its window, and the event's index in the run. */
    private record Windowed(String window, long index) implements Position {
        @Override
        public String display() {
            return window + " #" + index;
        }

        @Override
        public boolean snapshot() {
            return false;
        }

        @Override
        public String partition() {
            return window == null ? null : "window=" + window;
        }

        @Override
        public Map<String, Object> envelopeFields() {
            return Map.of("index", index);
        }

        @Override
        public int compareTo(Position o) {
            return Long.compare(index, ((Windowed) o).index);
        }
    }

    /** One window's run: a truncate, then rows 1..n. */
    private static List<ChangeEvent> run(String window, int n) {
        List<ChangeEvent> out = new ArrayList<>();
        Instant end = Instant.parse("2026-12-01T00:00:00Z");
        out.add(new ChangeEvent(Op.TRUNCATE, ORDERS, null, null, Set.of(), new Windowed(window, 0), 0, end));
        for (int i = 1; i <= n; i++) {
            out.add(new ChangeEvent(Op.READ, ORDERS, null, Row.wrap((long) i), Set.of(), new Windowed(window, i), 0, end));
        }
        return out;
    }

    private Path partition(String window) {
        return root.resolve("public.orders").resolve("window=" + window).resolve("data.jsonl");
    }

    @Test
    void aReRunReplacesThePartitionWithTheSameBytesWhateverTheBatches() throws Exception {
        List<ChangeEvent> first = run("2026-11-30", 5);
        try (JsonlSink sink = new JsonlSink("shop", root, ENVELOPES)) {
            sink.write(first, Offset.of(5));
        }
        byte[] once = Files.readAllBytes(partition("2026-11-30"));
        assertThat(Files.readAllLines(partition("2026-11-30"))).hasSize(5);
        List<ChangeEvent> again = run("2026-11-30", 5);
        try (JsonlSink sink = new JsonlSink("shop", root, ENVELOPES)) {
            sink.write(again.subList(0, 2), Offset.of(7));
            sink.write(again.subList(2, 6), Offset.of(11));
        }
        assertThat(Files.readAllBytes(partition("2026-11-30"))).isEqualTo(once);
        assertThat(Files.readString(partition("2026-11-30"))).contains("\"ts_ms\":1796083200000");
    }

    @Test
    void whatABatchAppendedWithoutItsManifestIsCutBackBeforeTheNextWrite() throws Exception {
        List<ChangeEvent> events = run("2026-11-30", 4);
        try (JsonlSink sink = new JsonlSink("shop", root, ENVELOPES)) {
            sink.write(events.subList(0, 3), Offset.of(2));
        }
        byte[] committed = Files.readAllBytes(partition("2026-11-30"));
        // a crash after the append and before the manifest: the file has lines no commit recorded
        Files.writeString(partition("2026-11-30"), "{\"half\":", java.nio.file.StandardOpenOption.APPEND);
        Files.createDirectories(partition("2026-12-01").getParent());
        Files.writeString(partition("2026-12-01"), "{}\n");
        try (JsonlSink sink = new JsonlSink("shop", root, ENVELOPES)) {
            assertThat(sink.committed()).contains(Offset.of(2));
            sink.write(events.subList(3, 5), Offset.of(4));
        }
        assertThat(Files.exists(partition("2026-12-01"))).isFalse();
        String text = Files.readString(partition("2026-11-30"));
        assertThat(text).startsWith(new String(committed, java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("half");
        assertThat(text.lines()).hasSize(4);
    }

    @Test
    void eventsWithoutAPartitionStillGoToFilesNamedByOffset() throws Exception {
        ChangeEvent plain = new ChangeEvent(Op.READ, ORDERS, null, Row.wrap(1L), Set.of(), new Windowed(null, 0), 0,
                Instant.EPOCH);
        try (JsonlSink sink = new JsonlSink("shop", root, ENVELOPES)) {
            sink.write(List.of(plain), Offset.of(0));
            sink.write(run("2026-11-30", 1), Offset.of(2));
        }
        assertThat(root.resolve("public.orders").resolve(String.format("%020d.jsonl", 0))).exists();
        assertThat(Files.readAllLines(partition("2026-11-30"))).hasSize(1);
    }
}
