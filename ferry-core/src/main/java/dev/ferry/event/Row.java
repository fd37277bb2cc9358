package dev.ferry.event;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The values of one row, aligned with the columns of its {@link TableSchema}. Each value is null or
 * the Java representation its column's {@link LogicalType} prescribes. Immutable by convention: the
 * array handed in is owned by the row and must not be changed afterwards.
 */
public final class Row {
    /** The values; for a row built encoded, null until someone asks for one. */
    private volatile Object[] values;
    /** The values in the Log's encoding (see {@link RowEncoder}), or null. */
    private final byte[] encoded;
    private final int size;

    private Row(Object[] values, byte[] encoded, int size) {
        this.values = values;
        this.encoded = encoded;
        this.size = size;
    }

    /** Wraps the array without copying it; the caller gives up the array. */
    public static Row wrap(Object... values) {
        return new Row(values, null, values.length);
    }

    /** A row of {@code size} values in {@link RowEncoder}'s encoding; the row owns the array. */
    static Row encoded(byte[] encoded, int size) {
        return new Row(null, encoded, size);
    }

    public int size() {
        return size;
    }

    public Object get(int index) {
        return values()[index];
    }

    /**
     * The values in {@link RowEncoder}'s encoding when the row was built that way, else null: the
     * Log copies these bytes instead of encoding each value. Must not be modified.
     */
    public byte[] encodedValues() {
        return encoded;
    }

    /** Whether the values were built as objects or were decoded already. */
    boolean decoded() {
        return values != null;
    }

    private Object[] values() {
        Object[] v = values;
        if (v == null) {
            v = RowEncoder.decode(ByteBuffer.wrap(encoded), size);
            values = v;
        }
        return v;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Row other && Arrays.deepEquals(values(), other.values());
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(values());
    }

    @Override
    public String toString() {
        return Arrays.deepToString(values());
    }
}
