package dev.ferry.log;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Events for Log tests, and a helper that reads a whole Log back. */
final class LogEvents {
    static final TableSchema ORDERS = new TableSchema(new TableId("public", "orders"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("note", LogicalType.STRING, "text", false)));

    private LogEvents() {
    }

    /** A small insert into public.orders; {@code n} is the row id and the position counter. */
    static ChangeEvent insert(long n) {
        return new ChangeEvent(Op.CREATE, ORDERS, null, Row.wrap(n, "order " + n), Set.of(),
                new TestPosition(n), 1000 + n, Instant.ofEpochSecond(1_700_000_000L + n, 123_456_789));
    }

    /** Inserts with ids {@code from} to {@code to - 1}. */
    static List<ChangeEvent> inserts(long from, long to) {
        List<ChangeEvent> out = new ArrayList<>();
        for (long n = from; n < to; n++) {
            out.add(insert(n));
        }
        return out;
    }

    /** Every entry from {@code first} up to the Log's end. */
    static List<LogEntry> readAll(Log log, long first) throws IOException {
        List<LogEntry> out = new ArrayList<>();
        try (LogReader reader = log.readFrom(Offset.of(first))) {
            List<LogEntry> batch;
            while (!(batch = reader.read(7, log.end())).isEmpty()) {
                out.addAll(batch);
            }
            org.assertj.core.api.Assertions.assertThat(reader.next()).isEqualTo(log.end());
        }
        return out;
    }

    static List<ChangeEvent> events(List<LogEntry> entries) {
        return entries.stream().map(LogEntry::event).toList();
    }

    static List<Long> offsets(List<LogEntry> entries) {
        return entries.stream().map(e -> e.offset().value()).toList();
    }
}
