package dev.ferry.event;

import dev.ferry.source.Position;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * One change (or snapshot read) of one row, in source commit order. Immutable.
 *
 * @param op          what happened
 * @param schema      the table and its columns when the change was captured
 * @param before      the row before the change; null for inserts, reads, truncates, and when the
 *                    source does not know it (no replica identity)
 * @param after       the row after the change; null for deletes and truncates
 * @param unchanged   columns whose new value the source did not send (PostgreSQL's unchanged TOAST);
 *                    their slots in {@code after} are null and must not be written by sinks
 * @param position    where the change sits in the source's own log
 * @param txId        the source transaction id, or 0 for snapshot reads
 * @param committedAt when the source committed the change (snapshot reads: when the snapshot began)
 */
public record ChangeEvent(Op op, TableSchema schema, Row before, Row after, Set<String> unchanged,
                          Position position, long txId, Instant committedAt) {
    public ChangeEvent {
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(position, "position");
        Objects.requireNonNull(committedAt, "committedAt");
        unchanged = unchanged == null ? Set.of() : Set.copyOf(unchanged);
    }

    public TableId table() {
        return schema.table();
    }

    /**
     * Whether this is an update that changed the row's key: the old row is known (PostgreSQL sends
     * the old key then; the whole old row with replica identity full, as MySQL always does) and
     * differs in a key column. A key column the source did not send ({@link #unchanged}: PostgreSQL's
     * unchanged TOAST, which it also uses for a key stored out of line) is the old one.
     */
    public boolean keyChanged() {
        if (op != Op.UPDATE || before == null || after == null) {
            return false;
        }
        for (int i : schema.keyIndexes()) {
            if (!unchanged.contains(schema.column(i).name()) && !Objects.deepEquals(before.get(i), after.get(i))) {
                return true;
            }
        }
        return false;
    }
}
