package dev.ferry.event;

import java.util.Arrays;

/**
 * The values of one row, aligned with the columns of its {@link TableSchema}. Each value is null or
 * the Java representation its column's {@link LogicalType} prescribes. Immutable by convention: the
 * array handed in is owned by the row and must not be changed afterwards.
 */
public final class Row {
    private final Object[] values;

    private Row(Object[] values) {
        this.values = values;
    }

    /** Wraps the array without copying it; the caller gives up the array. */
    public static Row wrap(Object... values) {
        return new Row(values);
    }

    public int size() {
        return values.length;
    }

    public Object get(int index) {
        return values[index];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Row other && Arrays.deepEquals(values, other.values);
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(values);
    }

    @Override
    public String toString() {
        return Arrays.deepToString(values);
    }
}
