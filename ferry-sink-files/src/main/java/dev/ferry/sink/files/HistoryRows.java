package dev.ferry.sink.files;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What a history row of the file sinks holds, shared by their formats: the metadata columns, then
 * the row — the new one; for a delete the old one (with the default replica identity only its key);
 * for a truncate none. A column the source did not send (unchanged TOAST) is null and listed in
 * {@code _ferry_unchanged}: no value is ever invented for it.
 *
 * <p>A table with a primary key also has a {@code _ferry_before_<column>} column per key column, of
 * the key column's type, right after the metadata: the old key of an update that changed the key,
 * else null. The new row alone would leave a replay, or the Parquet mirror's compaction, holding
 * the old key's row too; with the old key they delete it.
 */
public final class HistoryRows {
    /**
     * The metadata columns, first in every file: the Log offset, the op ({@code r c u d t}), the
     * source position, the commit time, the source transaction id (null for snapshot reads) and the
     * unchanged columns (null when none).
     */
    public static final List<String> META = List.of("_ferry_offset", "_ferry_op", "_ferry_position", "_ferry_committed_at",
            "_ferry_tx_id", "_ferry_unchanged");

    /** The prefix of the old-key columns: {@code _ferry_before_id} holds the old {@code id}. */
    public static final String BEFORE_KEY = "_ferry_before_";

    private HistoryRows() {
    }

    /** The value of column {@code c} in the history row of {@code e}; null when absent or unchanged. */
    public static Object value(ChangeEvent e, Column c) {
        if (c.name().startsWith(BEFORE_KEY)) { // source columns never start with _ferry_ (the sink refuses them)
            int i = e.schema().indexOf(c.name().substring(BEFORE_KEY.length()));
            return i >= 0 && e.keyChanged() ? e.before().get(i) : null;
        }
        Row row = e.op() == Op.DELETE ? (e.before() != null ? e.before() : e.after())
                : e.op() == Op.TRUNCATE ? null : e.after();
        if (row == null || e.op() != Op.DELETE && e.unchanged().contains(c.name())) {
            return null;
        }
        int i = e.schema().indexOf(c.name());
        return i < 0 ? null : row.get(i);
    }

    /** The transaction id of the history row; null for snapshot reads, which belong to none. */
    public static Long txId(ChangeEvent e) {
        return e.op() == Op.READ ? null : e.txId();
    }

    /** The unchanged columns in name order; null when there are none. */
    public static List<String> unchanged(ChangeEvent e) {
        return e.unchanged().isEmpty() ? null : List.copyOf(new TreeSet<>(e.unchanged()));
    }

    /**
     * The source columns of a file's events: each column in its newest definition, in first-seen
     * order. A column dropped at the source is in a file only while some of its events still carry it.
     */
    public static List<Column> sourceColumnsOf(List<ChangeEvent> events) {
        Map<String, Column> out = new LinkedHashMap<>();
        for (ChangeEvent e : events) {
            for (Column c : e.schema().columns()) {
                out.put(c.name(), c);
            }
        }
        return new ArrayList<>(out.values());
    }

    /**
     * The columns of a file after the metadata: a {@code _ferry_before_<key>} column per key column
     * (of its type, never a key itself), then {@code sourceColumns}.
     */
    public static List<Column> withBeforeKey(List<Column> sourceColumns) {
        List<Column> out = new ArrayList<>(sourceColumns.size() + 2);
        for (Column c : sourceColumns) {
            if (c.key()) {
                out.add(new Column(BEFORE_KEY + c.name(), c.type(), c.elementType(), c.sourceType(), false));
            }
        }
        out.addAll(sourceColumns);
        return out;
    }
}
