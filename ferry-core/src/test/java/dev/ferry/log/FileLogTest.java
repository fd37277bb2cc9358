package dev.ferry.log;

import static dev.ferry.log.LogEvents.events;
import static dev.ferry.log.LogEvents.insert;
import static dev.ferry.log.LogEvents.inserts;
import static dev.ferry.log.LogEvents.offsets;
import static dev.ferry.log.LogEvents.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.RowEncoder;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file Log: appends, reads, offsets, segments, retention and reset. Recovery is in FileLogRecoveryTest. */
class FileLogTest {
    @TempDir
    Path dir;

    private static final TableSchema EVERY_TYPE = new TableSchema(new TableId("shop", "Everything ✓"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("flag", LogicalType.BOOLEAN, "boolean", false),
            Column.of("ratio", LogicalType.FLOAT64, "double precision", false),
            Column.of("price", LogicalType.DECIMAL, "numeric(12,2)", false),
            Column.of("name", LogicalType.STRING, "text", false),
            Column.of("blob", LogicalType.BYTES, "bytea", false),
            new Column("tags", LogicalType.ARRAY, LogicalType.INT64, "bigint[]", false),
            Column.of("doc", LogicalType.JSON, "jsonb", false)));

    private static ChangeEvent everyValue(long id, Object ratio, Object tags) {
        byte[] blob = new byte[256];
        for (int i = 0; i < blob.length; i++) {
            blob[i] = (byte) i;
        }
        Row before = Row.wrap(id, false, 1.5, "1.00", "old", new byte[0], List.of(), "{}");
        Row after = Row.wrap(id, true, ratio, "12.50", "naïve café 日本語 🚀 \u0000 end", blob, tags,
                "{\"a\": [1, null]}");
        return new ChangeEvent(Op.UPDATE, EVERY_TYPE, before, after, Set.of("doc", "name"),
                new TestPosition(id), 77_000 + id, Instant.ofEpochSecond(1_700_000_000L, 999_999_999));
    }

    /** Inserts 0..count-1 into orders, each with {@code text} as its text column. */
    private static List<ChangeEvent> wideInserts(int count, String text) {
        List<ChangeEvent> events = new java.util.ArrayList<>();
        for (long n = 0; n < count; n++) {
            events.add(new ChangeEvent(Op.CREATE, LogEvents.ORDERS, null, Row.wrap(n, text), Set.of(),
                    new TestPosition(n), n, Instant.EPOCH));
        }
        return events;
    }

    @Test
    void appendOfLargeRowsIsCutIntoFramesAndReadsStayBounded() throws Exception {
        // ~3 MB estimated per row: 40 rows make several frames
        List<ChangeEvent> written = wideInserts(40, "x".repeat(1_000_000));
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            log.append(written, new TestPosition(100));
            assertThat(Files.size(dir.resolve("00000000000000000000.log"))).isGreaterThan(40_000_000L);
            try (LogReader reader = log.readFrom(Offset.of(0))) {
                List<LogEntry> first = reader.read(1000, log.end());
                assertThat(first).as("one read holds about LogReader.DEFAULT_MAX_BYTES, not the whole append")
                        .hasSizeGreaterThan(0).hasSizeLessThan(40);
            }
            assertThat(events(readAll(log, 0))).containsExactlyElementsOf(written);
        }
        try (FileLog reopened = FileLog.open(dir, TestPosition.CODEC)) {
            assertThat(reopened.lastPosition()).contains(new TestPosition(100));
            assertThat(reopened.end()).isEqualTo(Offset.of(40));
        }
    }

    @Test
    void readsCountEachEventsBytesAndStopBeforeAnEventThatWouldPassTheBound() throws Exception {
        List<ChangeEvent> written = wideInserts(10, "y".repeat(10_000));
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            log.append(written, new TestPosition(100));
            try (LogReader reader = log.readFrom(Offset.of(0))) {
                List<LogEntry> first = reader.read(1000, 25_000, log.end());
                assertThat(first).as("10 kB each: the third would pass 25,000 bytes").hasSize(2);
                // the first event also declares the table's schema, so it is the largest
                assertThat(first).allSatisfy(e -> assertThat(e.bytes()).isBetween(10_000, 11_000));
                assertThat(first.get(0).bytes()).isGreaterThan(first.get(1).bytes());
                assertThat(offsets(reader.read(1000, 1, log.end()))).as("an event over the bound comes alone")
                        .containsExactly(2L);
                List<LogEntry> rest = reader.read(1000, Long.MAX_VALUE, log.end());
                assertThat(offsets(rest)).containsExactly(3L, 4L, 5L, 6L, 7L, 8L, 9L);
                long total = 0;
                for (LogEntry e : first) {
                    total += e.bytes();
                }
                for (LogEntry e : rest) {
                    total += e.bytes();
                }
                assertThat(total).as("the events' sizes are nearly all of the segment")
                        .isLessThan(Files.size(dir.resolve("00000000000000000000.log")));
            }
        }
    }

    @Test
    void aChangeLargerThanTheBoundIsReadAloneNotAfterOthers() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            log.append(wideInserts(3, "n"), new TestPosition(100));
            log.append(wideInserts(1, "w".repeat(200_000)), new TestPosition(101));
            log.append(wideInserts(2, "n"), new TestPosition(102));
            try (LogReader reader = log.readFrom(Offset.of(0))) {
                assertThat(offsets(reader.read(1000, 50_000, log.end()))).as("the narrow ones, not the wide one after them")
                        .containsExactly(0L, 1L, 2L);
                List<LogEntry> wide = reader.read(1000, 50_000, log.end());
                assertThat(offsets(wide)).as("the wide one alone").containsExactly(3L);
                assertThat(wide.get(0).bytes()).isGreaterThan(200_000);
                assertThat(offsets(reader.read(1000, 50_000, log.end()))).containsExactly(4L, 5L);
            }
        }
    }

    @Test
    void withAnFsyncIntervalAppendsWaitingForTheirSyncSayWhenItIsDue() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, new FileLog.Options(1 << 20, 60_000))) {
            assertThat(log.nanosUntilSyncDue()).as("nothing appended").isEqualTo(Long.MAX_VALUE);
            log.append(LogEvents.inserts(0, 3), new TestPosition(2));
            log.sync();
            log.append(LogEvents.inserts(3, 5), new TestPosition(4));
            assertThat(log.nanosUntilSyncDue()).isBetween(1L, 60_000_000_000L);
            assertThat(log.end().value()).as("not readable before its sync").isEqualTo(3);
            log.sync();
            assertThat(log.nanosUntilSyncDue()).isEqualTo(Long.MAX_VALUE);
            assertThat(log.end().value()).isEqualTo(5);
        }
        try (FileLog log = FileLog.open(dir.resolve("batch"), TestPosition.CODEC)) {
            log.append(LogEvents.inserts(0, 3), new TestPosition(2));
            assertThat(log.nanosUntilSyncDue()).as("fsync per append: nothing waits").isEqualTo(Long.MAX_VALUE);
        }
    }

    @Test
    void afterAQuietSpellAnAppendIsSyncedAtOnceWhateverIdleSyncsCameBetween() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, new FileLog.Options(1 << 20, 300))) {
            log.append(LogEvents.inserts(0, 3), new TestPosition(2));
            log.sync();
            Thread.sleep(400); // quiet for longer than the interval
            log.sync(); // an idle poll's: nothing to sync, so the interval is not restarted
            log.append(LogEvents.inserts(3, 5), new TestPosition(4));
            assertThat(log.end().value()).as("synced by the append, as the last fsync is an interval old").isEqualTo(5);
        }
    }

    @Test
    void staleIndexSidecarIsRebuiltNotReportedAsCorruption() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 1024)) {
            for (long n = 0; n < 60; n += 4) {
                log.append(LogEvents.inserts(n, n + 4), new TestPosition(n + 3));
            }
        }
        // a sealed segment's sidecar that a crash left stale: plausible entries pointing into frames
        Path first = dir.resolve("00000000000000000000.log");
        long size = Files.size(first);
        java.nio.ByteBuffer stale = java.nio.ByteBuffer.allocate(32).putLong(2).putLong(37).putLong(5).putLong(size / 2);
        Files.write(dir.resolve("00000000000000000000.index"), stale.array());
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 1024)) {
            assertThat(log.start().value()).isZero();
            assertThat(offsets(readAll(log, 6))).isEqualTo(java.util.stream.LongStream.range(6, 60).boxed().toList());
            assertThat(offsets(readAll(log, 3))).startsWith(3L, 4L, 5L);
        }
    }

    @Test
    void readsBackEveryValueRepresentationExactly() throws Exception {
        List<ChangeEvent> written = List.of(
                everyValue(1, Double.NaN, Arrays.asList(1L, null, Long.MIN_VALUE, Long.MAX_VALUE)),
                everyValue(2, -0.0, Arrays.asList(List.of(1L, 2L), Arrays.asList((Object) null), List.of())),
                everyValue(3, Double.NEGATIVE_INFINITY, null),
                new ChangeEvent(Op.DELETE, EVERY_TYPE, Row.wrap(4L, null, null, null, null, null, null, null), null,
                        null, new TestPosition(4), 0, Instant.EPOCH),
                new ChangeEvent(Op.TRUNCATE, EVERY_TYPE, null, null, Set.of(), new TestPosition(5), 9,
                        Instant.ofEpochSecond(-1, 1)),
                insert(6));

        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            log.append(written, new TestPosition(6));
            List<ChangeEvent> read = events(readAll(log, 0));

            assertThat(read).containsExactlyElementsOf(written);
            Row after = read.get(0).after();
            assertThat((Double) after.get(2)).isNaN();
            assertThat(after.get(4)).isEqualTo("naïve café 日本語 🚀 \u0000 end");
            assertThat((byte[]) after.get(5)).isEqualTo(((byte[]) written.get(0).after().get(5)));
            assertThat(Double.doubleToRawLongBits((Double) read.get(1).after().get(2)))
                    .isEqualTo(Double.doubleToRawLongBits(-0.0));
            assertThat(read.get(1).after().get(6)).isEqualTo(Arrays.asList(List.of(1L, 2L), Arrays.asList((Object) null), List.of()));
            assertThat(read.get(0).unchanged()).containsExactlyInAnyOrder("doc", "name");
            assertThat(read.get(0).schema()).isEqualTo(EVERY_TYPE);
        }
    }

    @Test
    void rowsBuiltEncodedAreStoredByteForByteAsRowsBuiltFromValues() throws Exception {
        List<ChangeEvent> fromValues = List.of(
                everyValue(1, Double.NaN, Arrays.asList(1L, null, Long.MIN_VALUE, Long.MAX_VALUE)),
                everyValue(2, -0.0, Arrays.asList(List.of(1L, 2L), Arrays.asList((Object) null), List.of())),
                insert(3));
        List<ChangeEvent> encoded = fromValues.stream().map(e -> new ChangeEvent(e.op(), e.schema(), encode(e.before()),
                encode(e.after()), e.unchanged(), e.position(), e.txId(), e.committedAt())).toList();
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        try (FileLog values = FileLog.open(a, TestPosition.CODEC); FileLog bytes = FileLog.open(b, TestPosition.CODEC)) {
            values.append(fromValues, new TestPosition(3));
            bytes.append(encoded, new TestPosition(3));
            assertThat(events(readAll(bytes, 0))).containsExactlyElementsOf(fromValues);
        }
        try (var files = Files.list(a)) {
            List<Path> segments = files.filter(f -> f.toString().endsWith(".log")).toList();
            assertThat(segments).isNotEmpty();
            for (Path f : segments) {
                assertThat(Files.readAllBytes(b.resolve(f.getFileName()))).isEqualTo(Files.readAllBytes(f));
            }
        }
    }

    private static Row encode(Row row) {
        if (row == null) {
            return null;
        }
        RowEncoder encoder = new RowEncoder();
        encoder.putAll(row);
        return encoder.finish();
    }

    @Test
    void rejectsValuesOutsideTheRepresentations() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            ChangeEvent bad = new ChangeEvent(Op.CREATE, LogEvents.ORDERS, null, Row.wrap(1, "int, not Long"),
                    Set.of(), new TestPosition(1), 1, Instant.EPOCH);

            assertThatThrownBy(() -> log.append(List.of(bad), new TestPosition(1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("java.lang.Integer");
            assertThat(log.end()).isEqualTo(Offset.of(0));
            log.append(List.of(insert(1)), new TestPosition(1));
            assertThat(events(readAll(log, 0))).containsExactly(insert(1));
        }
    }

    @Test
    void offsetsAreContiguousAcrossAppends() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            assertThat(log.end()).isEqualTo(Offset.of(0));
            assertThat(log.append(inserts(0, 3), new TestPosition(2))).isEqualTo(Offset.of(3));
            assertThat(log.append(inserts(3, 4), new TestPosition(3))).isEqualTo(Offset.of(4));
            assertThat(log.append(inserts(4, 10), new TestPosition(9))).isEqualTo(Offset.of(10));
            assertThat(log.end()).isEqualTo(Offset.of(10));

            List<LogEntry> all = readAll(log, 0);
            assertThat(offsets(all)).containsExactlyElementsOf(LongStream.range(0, 10).boxed().toList());
            assertThat(events(all)).containsExactlyElementsOf(inserts(0, 10));
            // starting inside a frame skips its earlier events
            assertThat(offsets(readAll(log, 5))).containsExactly(5L, 6L, 7L, 8L, 9L);
            assertThat(events(readAll(log, 5)).get(0)).isEqualTo(insert(5));
            assertThat(readAll(log, 10)).isEmpty();
        }
    }

    @Test
    void lastPositionAndEndSurviveReopen() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            assertThat(log.lastPosition()).isEmpty();
            log.append(inserts(0, 3), new TestPosition(41));
            log.append(inserts(3, 5), new TestPosition(42));
            assertThat(log.lastPosition()).contains(new TestPosition(42));
        }
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            assertThat(log.lastPosition()).contains(new TestPosition(42));
            assertThat(log.end()).isEqualTo(Offset.of(5));
            assertThat(log.append(inserts(5, 6), new TestPosition(43))).isEqualTo(Offset.of(6));
            assertThat(events(readAll(log, 0))).containsExactlyElementsOf(inserts(0, 6));
        }
    }

    @Test
    void emptyAppendRecordsOnlyThePosition() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            log.append(inserts(0, 2), new TestPosition(1));
            assertThat(log.append(List.of(), new TestPosition(500))).isEqualTo(Offset.of(2));
            assertThat(log.lastPosition()).contains(new TestPosition(500));
            log.append(List.of(), new TestPosition(501));
            log.append(inserts(2, 3), new TestPosition(502));
            log.append(List.of(), new TestPosition(503));
            assertThat(events(readAll(log, 0))).containsExactlyElementsOf(inserts(0, 3));
        }
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            assertThat(log.lastPosition()).contains(new TestPosition(503));
            assertThat(log.end()).isEqualTo(Offset.of(3));
        }
    }

    @Test
    void emptyLogOfOnlyPositionsReopens() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            log.append(List.of(), new TestPosition(7));
        }
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            assertThat(log.lastPosition()).contains(new TestPosition(7));
            assertThat(log.end()).isEqualTo(Offset.of(0));
            assertThat(readAll(log, 0)).isEmpty();
        }
    }

    @Test
    void readerNeverSeesEventsAtOrAfterTheLimit() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            log.append(inserts(0, 10), new TestPosition(9));
            try (LogReader reader = log.readFrom(Offset.of(2))) {
                assertThat(offsets(reader.read(100, Offset.of(5)))).containsExactly(2L, 3L, 4L);
                assertThat(reader.read(100, Offset.of(5))).isEmpty();
                assertThat(reader.read(100, Offset.of(3))).isEmpty();
                assertThat(reader.next()).isEqualTo(Offset.of(5));
                assertThat(offsets(reader.read(2, Offset.of(100)))).containsExactly(5L, 6L);
                assertThat(offsets(reader.read(100, log.end()))).containsExactly(7L, 8L, 9L);
                assertThat(reader.read(100, Offset.of(100))).isEmpty();
            }
        }
    }

    @Test
    void readerSeesAppendsMadeAfterItOpened() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 1024);
             LogReader reader = log.readFrom(Offset.of(0))) {
            assertThat(reader.read(10, Offset.of(Long.MAX_VALUE))).isEmpty();
            List<Long> seen = new ArrayList<>();
            for (long n = 0; n < 60; n += 3) {
                log.append(inserts(n, n + 3), new TestPosition(n + 2));
                seen.addAll(offsets(reader.read(100, Offset.of(Long.MAX_VALUE))));
            }
            assertThat(segmentFiles()).hasSizeGreaterThan(2);
            assertThat(seen).containsExactlyElementsOf(LongStream.range(0, 60).boxed().toList());
        }
    }

    @Test
    void rollsSegmentsAndReadsAcrossThem() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 1024)) {
            for (long n = 0; n < 200; n += 4) {
                log.append(inserts(n, n + 4), new TestPosition(n + 3));
            }
            assertThat(segmentFiles()).hasSizeGreaterThan(3);
            assertThat(offsets(readAll(log, 0))).containsExactlyElementsOf(LongStream.range(0, 200).boxed().toList());
        }
        List<Path> files = segmentFiles();
        for (Path f : files) {
            String name = f.getFileName().toString();
            assertThat(name).matches("\\d{20}\\.log");
            // a segment only grows past the limit by its last frame
            assertThat(Files.size(f)).isLessThan(1024 + 1024);
        }
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 1024)) {
            assertThat(log.end()).isEqualTo(Offset.of(200));
            assertThat(log.lastPosition()).contains(new TestPosition(199));
            for (long first : new long[] {0, 1, 57, 123, 199}) {
                assertThat(events(readAll(log, first))).containsExactlyElementsOf(inserts(first, 200));
            }
            // every segment is named by the offset of its first event
            for (Path f : files) {
                long base = Long.parseLong(f.getFileName().toString().substring(0, 20));
                assertThat(readAll(log, base).get(0).offset()).isEqualTo(Offset.of(base));
            }
        }
    }

    @Test
    void emptyAppendsNeverOpenASegment() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 64)) {
            log.append(inserts(0, 2), new TestPosition(1));
            for (int i = 0; i < 20; i++) {
                log.append(List.of(), new TestPosition(100 + i));
            }
            assertThat(segmentFiles()).hasSize(1);
            log.append(inserts(2, 3), new TestPosition(200));
            assertThat(segmentFiles()).hasSize(2);
        }
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 64)) {
            assertThat(log.lastPosition()).contains(new TestPosition(200));
            assertThat(events(readAll(log, 0))).containsExactlyElementsOf(inserts(0, 3));
        }
    }

    @Test
    void deleteBeforeRemovesOnlyWholeOldSegments() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 1024)) {
            for (long n = 0; n < 100; n += 5) {
                log.append(inserts(n, n + 5), new TestPosition(n + 4));
            }
            List<Long> bases = segmentBases();
            assertThat(bases).hasSizeGreaterThanOrEqualTo(3).startsWith(0L);
            long second = bases.get(1);
            long third = bases.get(2);

            log.deleteBefore(Offset.of(second - 1)); // still needs an event of the first segment
            assertThat(segmentBases()).isEqualTo(bases);
            assertThat(log.start()).isEqualTo(Offset.of(0));

            log.deleteBefore(Offset.of(third - 1)); // the second segment holds third - 1
            assertThat(segmentBases()).isEqualTo(bases.subList(1, bases.size()));
            assertThat(log.start()).isEqualTo(Offset.of(second));
            assertThat(events(readAll(log, second))).containsExactlyElementsOf(inserts(second, 100));
            assertThatThrownBy(() -> log.readFrom(Offset.of(second - 1))).isInstanceOf(IllegalArgumentException.class);

            log.deleteBefore(Offset.of(third));
            assertThat(segmentBases()).isEqualTo(bases.subList(2, bases.size()));
        }
    }

    @Test
    void deleteBeforeNeverDeletesTheActiveSegment() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 1024)) {
            for (long n = 0; n < 100; n += 5) {
                log.append(inserts(n, n + 5), new TestPosition(n + 4));
            }
            long active = segmentBases().get(segmentBases().size() - 1);

            log.deleteBefore(Offset.of(Long.MAX_VALUE));

            assertThat(segmentBases()).containsExactly(active);
            assertThat(log.start()).isEqualTo(Offset.of(active));
            assertThat(events(readAll(log, active))).containsExactlyElementsOf(inserts(active, 100));
            log.append(inserts(100, 101), new TestPosition(100));
            assertThat(log.end()).isEqualTo(Offset.of(101));
        }
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 1024)) {
            assertThat(log.lastPosition()).contains(new TestPosition(100));
            assertThat(log.end()).isEqualTo(Offset.of(101));
        }
    }

    @Test
    void resetEmptiesTheLog() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 1024)) {
            for (long n = 0; n < 100; n += 5) {
                log.append(inserts(n, n + 5), new TestPosition(n + 4));
            }
            log.reset();

            assertThat(log.end()).isEqualTo(Offset.of(0));
            assertThat(log.start()).isEqualTo(Offset.of(0));
            assertThat(log.lastPosition()).isEmpty();
            assertThat(readAll(log, 0)).isEmpty();
            assertThat(segmentBases()).containsExactly(0L);

            assertThat(log.append(inserts(500, 502), new TestPosition(501))).isEqualTo(Offset.of(2));
            assertThat(events(readAll(log, 0))).containsExactlyElementsOf(inserts(500, 502));
        }
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, 1024)) {
            assertThat(log.lastPosition()).contains(new TestPosition(501));
            assertThat(events(readAll(log, 0))).containsExactlyElementsOf(inserts(500, 502));
        }
    }

    @Test
    void awaitEndReturnsWhenEventsArriveOrTimesOut() throws Exception {
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC)) {
            assertThat(log.awaitEnd(Offset.of(0), 10)).isFalse();
            Thread writer = new Thread(() -> {
                try {
                    Thread.sleep(20);
                    log.append(inserts(0, 1), new TestPosition(0));
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            writer.start();
            assertThat(log.awaitEnd(Offset.of(0), 10_000)).isTrue();
            writer.join();
            assertThat(log.awaitEnd(Offset.of(0), 0)).isTrue();
        }
    }

    private List<Path> segmentFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".log")).sorted().toList();
        }
    }

    private List<Long> segmentBases() throws IOException {
        return segmentFiles().stream().map(f -> Long.parseLong(f.getFileName().toString().substring(0, 20))).toList();
    }
}
