package dev.ferry.sink.kafka;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.source.Position;
import dev.ferry.source.SourceInfo;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Events of one small table for the Kafka sink's tests: the Log offset is in the position and the row. */
final class TestEvents {
    static final SourceInfo SOURCE = new SourceInfo("postgresql", "shop", "shopdb");
    static final TableSchema ORDERS = new TableSchema(new TableId("public", "orders"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("amount", LogicalType.DECIMAL, "numeric(12,2)", false),
            Column.of("doc", LogicalType.JSON, "jsonb", false),
            Column.of("receipt", LogicalType.BYTES, "bytea", false),
            new Column("tags", LogicalType.ARRAY, LogicalType.STRING, "text[]", false),
            Column.of("at", LogicalType.TIMESTAMPTZ, "timestamptz", false)));

    private TestEvents() {
    }

    /** A position whose counter is the event's Log offset. */
    record Counter(long value) implements Position {
        @Override
        public String display() {
            return "#" + value;
        }

        @Override
        public boolean snapshot() {
            return false;
        }

        @Override
        public Map<String, Object> envelopeFields() {
            return Map.of("lsn", value);
        }

        @Override
        public int compareTo(Position o) {
            return Long.compare(value, ((Counter) o).value);
        }
    }

    static Row row(long id, long version) {
        return Row.wrap(id, version + ".50", "{\"v\": " + version + "}", new byte[] {1, 2, (byte) version},
                List.of("a", "v" + version), "2026-11-30T12:00:00.123456Z");
    }

    static ChangeEvent insert(long offset, long id) {
        return new ChangeEvent(Op.CREATE, ORDERS, null, row(id, offset), Set.of(), new Counter(offset), 7, Instant.EPOCH);
    }

    static ChangeEvent update(long offset, long id) {
        return new ChangeEvent(Op.UPDATE, ORDERS, null, row(id, offset), Set.of(), new Counter(offset), 7, Instant.EPOCH);
    }

    static ChangeEvent updateKey(long offset, long oldId, long newId) {
        return new ChangeEvent(Op.UPDATE, ORDERS, Row.wrap(oldId, null, null, null, null, null), row(newId, offset),
                Set.of(), new Counter(offset), 7, Instant.EPOCH);
    }

    static ChangeEvent delete(long offset, long id) {
        return new ChangeEvent(Op.DELETE, ORDERS, row(id, 0), null, Set.of(), new Counter(offset), 7, Instant.EPOCH);
    }
}
