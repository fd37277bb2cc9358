package dev.ferry.sink.duckdb;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableSchema;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The net effect of one table's events of one write on its mirror: per primary key, the last thing
 * that happened to it. Events are applied in order: a read, insert or update makes the key's row
 * its new values; a delete removes it; an update that changes the key removes the old key; a
 * truncate forgets everything before it and empties the mirror first.
 *
 * <p>Unchanged TOAST columns (and columns the event's schema does not have yet, or any more) are
 * <em>absent</em>: they never overwrite the mirror. When an earlier event of the same write gave the
 * key a value for such a column, that value is carried forward, so an insert followed by a
 * TOAST-unchanged update of the same row writes the inserted value. An update that changes the key
 * carries the old key's values the same way; when the old key had no earlier event in the write,
 * its row in the mirror holds them, and the change names it ({@link Change#fromKey}).
 */
final class KeyedChanges {
    /** The final state of one key: a row to upsert (with the columns it sets) or a delete. */
    static final class Change {
        final Object[] keyValues;
        final boolean delete;
        /** Aligned with {@link KeyedChanges#columns}; only meaningful where {@link #present} is set. */
        final Object[] values;
        final boolean[] present;
        /**
         * For a row whose key changed with columns absent (unchanged TOAST): the key of the mirror's
         * row, as it was before this write, that holds their values; else null.
         */
        final Object[] fromKey;

        Change(Object[] keyValues, boolean delete, Object[] values, boolean[] present, Object[] fromKey) {
            this.keyValues = keyValues;
            this.delete = delete;
            this.values = values;
            this.present = present;
            this.fromKey = fromKey;
        }

        static Change deleted(Object[] key) {
            return new Change(key, true, null, null, null);
        }
    }

    private final List<Column> columns;
    private final String[] keyNames;
    private final Map<String, Integer> indexByLowerName = new LinkedHashMap<>();
    /** The schema {@link #at} belongs to: a write's events share a few schema objects, usually one. */
    private TableSchema atSchema;
    /** For each column of {@link #atSchema}, its index in {@link #columns}. */
    private int[] at;
    private final Map<List<Object>, Change> changes = new LinkedHashMap<>();
    private boolean truncated;

    /**
     * @param columns  the columns of the write's staging table (every column any event carries)
     * @param keyNames the mirror's key columns
     */
    KeyedChanges(List<Column> columns, List<String> keyNames) {
        this.columns = columns;
        this.keyNames = keyNames.toArray(new String[0]);
        for (int i = 0; i < columns.size(); i++) {
            indexByLowerName.put(columns.get(i).name().toLowerCase(java.util.Locale.ROOT), i);
        }
    }

    /** Applies the next event of the table. */
    void apply(ChangeEvent e) {
        switch (e.op()) {
            case TRUNCATE -> {
                changes.clear();
                truncated = true;
            }
            case DELETE -> {
                Row row = e.before() != null ? e.before() : e.after();
                Object[] key = key(e.schema(), row);
                changes.remove(identity(key));
                changes.put(identity(key), Change.deleted(key));
            }
            case READ, CREATE, UPDATE -> upsert(e);
        }
    }

    private void upsert(ChangeEvent e) {
        TableSchema schema = e.schema();
        Object[] key = key(schema, e.after());
        List<Object> id = identity(key);
        // where absent values come from: the key's earlier state in this write, or, when the key changed,
        // the old key's (its state in this write, else its row in the mirror: fromKey)
        Change earlier;
        Object[] fromKey = null;
        Object[] oldKey = e.op() == Op.UPDATE && e.before() != null ? key(schema, e.before()) : null;
        if (oldKey != null && !identity(oldKey).equals(id)) {
            earlier = changes.remove(identity(oldKey));
            changes.put(identity(oldKey), Change.deleted(oldKey));
            changes.remove(id);
            if (earlier == null) {
                fromKey = oldKey;
            }
        } else {
            earlier = changes.remove(id);
        }
        Object[] values = new Object[columns.size()];
        boolean[] present = new boolean[columns.size()];
        int[] positions = positions(schema);
        boolean someUnchanged = !e.unchanged().isEmpty();
        for (int i = 0; i < positions.length; i++) {
            if (someUnchanged && e.unchanged().contains(schema.column(i).name())) {
                continue;
            }
            values[positions[i]] = e.after().get(i);
            present[positions[i]] = true;
        }
        if (earlier != null && !earlier.delete) {
            for (int i = 0; i < present.length; i++) {
                if (!present[i] && earlier.present[i]) {
                    values[i] = earlier.values[i];
                    present[i] = true;
                }
            }
            // a row that moved to this key after an earlier change under its old key fills from the old
            // key's mirror row, unless that change had itself moved there from another key
            fromKey = earlier.fromKey != null || oldKey == null || identity(oldKey).equals(id) ? earlier.fromKey : oldKey;
        }
        boolean complete = true;
        for (boolean p : present) {
            complete &= p;
        }
        changes.put(id, new Change(key, false, values, present, complete ? null : fromKey));
    }

    /** Where each column of {@code schema} sits among {@link #columns}. */
    private int[] positions(TableSchema schema) {
        if (schema != atSchema) {
            int[] out = new int[schema.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = indexByLowerName.get(schema.column(i).name().toLowerCase(java.util.Locale.ROOT));
            }
            at = out;
            atSchema = schema;
        }
        return at;
    }

    private Object[] key(TableSchema schema, Row row) {
        Object[] out = new Object[keyNames.length];
        for (int k = 0; k < keyNames.length; k++) {
            int i = schema.indexOf(keyNames[k]);
            if (i < 0 || row == null) {
                throw new CarrierValues.Unstorable("the event has no value for key column " + keyNames[k]
                        + " of the mirror");
            }
            out[k] = row.get(i);
        }
        return out;
    }

    /** A key's values with content equality (bytes compare by content). */
    private static List<Object> identity(Object[] key) {
        Object[] out = Arrays.copyOf(key, key.length);
        for (int i = 0; i < out.length; i++) {
            if (out[i] instanceof byte[] b) {
                out[i] = ByteBuffer.wrap(b);
            }
        }
        return Arrays.asList(out);
    }

    /** Whether a truncate came: the mirror is emptied before the changes are applied. */
    boolean truncated() {
        return truncated;
    }

    /** The final state of each key, in the order keys were last touched. */
    Collection<Change> changes() {
        return changes.values();
    }

    /** Whether a row takes absent values from another key's row in the mirror ({@link Change#fromKey}). */
    static boolean moves(Collection<Change> changes) {
        return changes.stream().anyMatch(c -> c.fromKey != null);
    }

    /** How many keys end deleted. */
    static long deletes(Collection<Change> changes) {
        return changes.stream().filter(c -> c.delete).count();
    }

    /** The distinct sets of present columns among the upserts, in first-seen order. */
    static List<boolean[]> presentSets(Collection<Change> changes) {
        List<boolean[]> out = new ArrayList<>();
        for (Change c : changes) {
            if (!c.delete && out.stream().noneMatch(p -> Arrays.equals(p, c.present))) {
                out.add(c.present);
            }
        }
        return out;
    }
}
