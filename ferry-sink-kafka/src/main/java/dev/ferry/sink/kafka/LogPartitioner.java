package dev.ferry.sink.kafka;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.EnvelopeWriter;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableSchema;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.kafka.common.utils.Utils;

/**
 * Which partition of a Kafka Log of several partitions each event goes to, so that every change of
 * one row stays in one partition, in source order: the murmur2 hash (Kafka's own partitioner's) of
 * the table's name and the JSON of the row's key columns (a decimal without its trailing zeros, a
 * float's zero without its sign: keys the source holds as one). A table without key columns goes wholly
 * to the partition of its name. A truncate goes to every partition, so that it is ordered against
 * the changes of every key. An update that changes the key is split as the {@code kafka} sink splits
 * it: a delete of the old key in the old key's partition, then a create of the new key in its own,
 * so that each key's history stays whole in its partition.
 *
 * <p>The hash depends only on the key's values as the envelope writes them, so it is the same in
 * every process and every run. Not thread-safe (one capture thread).
 */
final class LogPartitioner {
    private final int partitions;
    private final JsonFactory json = new JsonFactory();
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(256);

    LogPartitioner(int partitions) {
        this.partitions = partitions;
    }

    /** The events of each partition, in the order given. With one partition, the events as they are. */
    List<List<ChangeEvent>> route(List<ChangeEvent> events) {
        List<List<ChangeEvent>> out = new ArrayList<>(partitions);
        if (partitions == 1) {
            out.add(events);
            return out;
        }
        for (int p = 0; p < partitions; p++) {
            out.add(new ArrayList<>());
        }
        for (ChangeEvent e : events) {
            if (e.op() == Op.TRUNCATE) {
                out.forEach(list -> list.add(e));
            } else if (e.keyChanged()) {
                out.get(partitionOf(e.schema(), e.before())).add(new ChangeEvent(Op.DELETE, e.schema(), e.before(), null,
                        Set.of(), e.position(), e.txId(), e.committedAt()));
                out.get(partitionOf(e.schema(), e.after())).add(created(e));
            } else {
                out.get(partitionOf(e.schema(), e.op() == Op.DELETE ? e.before() : e.after())).add(e);
            }
        }
        return out;
    }

    /**
     * The create of a key change's new key. A value the update left unsent (unchanged TOAST) cannot be
     * taken from the old key's row by the sink of the new key's partition: that row is another
     * partition's, which may have deleted it already. The old row holds the value when the table has
     * {@code REPLICA IDENTITY FULL}: the create then carries it. (An unsent value is never NULL, so a
     * NULL in the old row means it holds the key alone; the column stays unchanged then.)
     */
    private static ChangeEvent created(ChangeEvent e) {
        Set<String> unchanged = e.unchanged();
        if (!unchanged.isEmpty()) {
            Object[] values = new Object[e.schema().size()];
            Set<String> unsent = new java.util.HashSet<>();
            for (int i = 0; i < values.length; i++) {
                String name = e.schema().column(i).name();
                boolean fromBefore = unchanged.contains(name) && e.before().get(i) != null;
                values[i] = fromBefore ? e.before().get(i) : e.after().get(i);
                if (unchanged.contains(name) && !fromBefore) {
                    unsent.add(name);
                }
            }
            return new ChangeEvent(Op.CREATE, e.schema(), null, Row.wrap(values), Set.copyOf(unsent), e.position(),
                    e.txId(), e.committedAt());
        }
        return new ChangeEvent(Op.CREATE, e.schema(), null, e.after(), unchanged, e.position(), e.txId(), e.committedAt());
    }

    /** The partition of one row of the table (of the table alone when it has no key or the row is unknown). */
    int partitionOf(TableSchema schema, Row row) {
        buffer.reset();
        byte[] table = schema.table().toString().getBytes(StandardCharsets.UTF_8);
        buffer.write(table, 0, table.length);
        int[] keys = schema.keyIndexes();
        if (row != null && keys.length > 0) {
            buffer.write(0);
            try (JsonGenerator g = json.createGenerator(buffer)) {
                g.writeStartArray();
                for (int i : keys) {
                    Column c = schema.column(i);
                    EnvelopeWriter.writeValue(c.type(), c.elementType(), routingValue(c.type(), row.get(i)), g);
                }
                g.writeEndArray();
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }
        return Utils.toPositive(Utils.murmur2(buffer.toByteArray())) % partitions;
    }

    /**
     * A key value as it is hashed: one text for values the source holds as one key though their
     * texts differ, a decimal's scale ({@code 1.0}, {@code 1.00} and {@code 1}) and a float's zero's sign.
     * An update that changes only those comes as a key change, split into a delete and a create: they
     * must stay in one partition, in order, or a worker behind on the delete's partition deletes the
     * row the create wrote (the warehouse finds the two keys equal too).
     */
    private static Object routingValue(LogicalType type, Object v) {
        if (type == LogicalType.DECIMAL && v instanceof String text && text.indexOf('.') >= 0) {
            try {
                return new BigDecimal(text).stripTrailingZeros().toPlainString();
            } catch (NumberFormatException e) {
                return v;
            }
        }
        if (v instanceof Double d && d == 0.0) {
            return 0.0;
        }
        if (v instanceof Float f && f == 0.0f) {
            return 0.0f;
        }
        return v;
    }
}
