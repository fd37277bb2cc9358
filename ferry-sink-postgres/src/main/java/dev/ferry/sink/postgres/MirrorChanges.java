package dev.ferry.sink.postgres;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Row;
import dev.ferry.event.TableSchema;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The changes of one table's events within one write, collapsed per key in Log order: the last
 * change of a key wins, so each key is written once, by one set-based statement. An update whose
 * unchanged columns (PostgreSQL's unchanged TOAST) an earlier change of the same key set takes those
 * values; the ones still unknown are left as they are in the mirror. An update that changes the key
 * deletes the row under the old key, and the new key's row takes the values it left unsent from the
 * old key's change in the same batch, else from the old key's row in the mirror ({@code from}).
 */
final class MirrorChanges {
    /**
     * What to do with one key.
     *
     * @param values    the row's values in schema order; for a delete only the key's are set
     * @param unchanged indexes of columns the mirror keeps as they are
     * @param delete    whether the key's row goes
     * @param offset    the Log offset of the change that decided it, for messages
     * @param from      the key (key columns set, in schema order) of the mirror's row whose values the
     *                  unchanged columns take: the row's key before a key change; null when the mirror
     *                  keeps its own values (the key's row stays where it is)
     */
    record Change(Object[] values, BitSet unchanged, boolean delete, long offset, Object[] from) {
    }

    private final TableSchema schema;
    private final int[] keys;
    private final Map<List<Object>, Change> byKey = new LinkedHashMap<>();

    MirrorChanges(TableSchema schema) {
        this.schema = schema;
        this.keys = schema.keyIndexes();
    }

    /** Folds one event (not a truncate) in. */
    void add(ChangeEvent e, long offset) throws FerryException {
        switch (e.op()) {
            case READ, CREATE, UPDATE -> {
                List<Object> key = key(e, e.after(), offset);
                boolean keyChange = false;
                Change moved = null;
                Object[] movedFrom = null;
                if (e.before() != null) {
                    List<Object> old = keyOrNull(e.before());
                    if (old != null && !old.equals(key)) {
                        keyChange = true;
                        Change was = byKey.remove(old);
                        if (was == null) {
                            movedFrom = keyOnly(e.before()); // the old row is in the mirror
                        } else if (!was.delete()) {
                            moved = was;
                        }
                        byKey.put(old, new Change(keyOnly(e.before()), new BitSet(), true, offset, null));
                    }
                }
                Object[] values = values(e.after());
                BitSet unchanged = new BitSet();
                for (String name : e.unchanged()) {
                    int i = schema.indexOf(name);
                    if (i >= 0) {
                        unchanged.set(i);
                    }
                }
                Change prev = byKey.remove(key);
                // the values left unsent are the row's: after a key change, the old key's
                Change source = keyChange ? moved : prev != null && !prev.delete() ? prev : null;
                Object[] from = keyChange ? (moved != null ? moved.from() : movedFrom) : source != null ? source.from() : null;
                if (!unchanged.isEmpty() && source != null) {
                    for (int i = unchanged.nextSetBit(0); i >= 0; i = unchanged.nextSetBit(i + 1)) {
                        if (!source.unchanged().get(i)) {
                            values[i] = source.values()[i];
                            unchanged.clear(i);
                        }
                    }
                }
                byKey.put(key, new Change(values, unchanged, false, offset, unchanged.isEmpty() ? null : from));
            }
            case DELETE -> {
                List<Object> key = key(e, e.before(), offset);
                byKey.remove(key);
                byKey.put(key, new Change(keyOnly(e.before()), new BitSet(), true, offset, null));
            }
            case TRUNCATE -> throw new IllegalArgumentException("a truncate ends the changes before it");
        }
    }

    boolean isEmpty() {
        return byKey.isEmpty();
    }

    Collection<Change> changes() {
        return byKey.values();
    }

    private List<Object> key(ChangeEvent e, Row row, long offset) throws FerryException {
        List<Object> key = row == null ? null : keyOrNull(row);
        if (key == null) {
            throw new FerryException(ErrorKind.DATA, "The " + e.op().name().toLowerCase() + " of " + e.table()
                    + " at Log offset " + offset + " (position " + e.position().display() + ") carries no value for the "
                    + "key columns, so the mirror cannot tell which row it is. Give the source table a primary key "
                    + "(or REPLICA IDENTITY FULL) and re-snapshot it.");
        }
        return key;
    }

    /** The key values of a row (bytes compared by content), or null if one is missing. */
    private List<Object> keyOrNull(Row row) {
        List<Object> key = new ArrayList<>(keys.length);
        for (int k : keys) {
            Object v = row.get(k);
            if (v == null) {
                return null;
            }
            key.add(v instanceof byte[] b ? ByteBuffer.wrap(b) : v);
        }
        return key;
    }

    private Object[] values(Row row) {
        Object[] out = new Object[schema.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = row.get(i);
        }
        return out;
    }

    private Object[] keyOnly(Row row) {
        Object[] out = new Object[schema.size()];
        for (int k : keys) {
            out[k] = row.get(k);
        }
        return out;
    }
}
