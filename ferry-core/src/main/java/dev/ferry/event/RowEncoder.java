package dev.ferry.event;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The binary form of a row's values, as the Log stores them, and a builder of rows already in that
 * form. A source that reads values as bytes (a text protocol, a replication buffer) can put them
 * here without making a {@code String} of each first: the Log then copies the row's bytes as they
 * are, and {@link Row#get} decodes them only if someone asks (see {@link Row#encodedValues()}).
 *
 * <p>Each value is a tag byte, then: 0 null, 1 false, 2 true (nothing more); 3 a long and 4 a
 * double's bits (8 bytes, big-endian); 5 a UTF-8 string and 6 bytes (a 4-byte length, then the
 * bytes); 7 a list (a 4-byte count, then the items, each a value).
 *
 * <p>One encoder builds one row at a time and is reused for the next: {@link #finish} hands out a
 * copy of exactly the row's bytes. Not thread-safe.
 */
public final class RowEncoder {
    static final int NULL = 0;
    static final int FALSE = 1;
    static final int TRUE = 2;
    static final int LONG = 3;
    static final int DOUBLE = 4;
    static final int STRING = 5;
    static final int BYTES = 6;
    static final int LIST = 7;

    private static final int INITIAL_BYTES = 256;
    /** A buffer grown past this for a huge value is dropped at the next reset, so one row does not pin it. */
    private static final int KEEP_BYTES = 1 << 20;

    private byte[] buf = new byte[INITIAL_BYTES];
    private int size;
    private int count;

    /** Starts a new row, forgetting whatever was put since the last {@link #finish}. */
    public RowEncoder reset() {
        if (buf.length > KEEP_BYTES) {
            buf = new byte[INITIAL_BYTES];
        }
        size = 0;
        count = 0;
        return this;
    }

    /** The values put so far. */
    public int count() {
        return count;
    }

    /** The bytes the row takes so far. */
    public int encodedSize() {
        return size;
    }

    /** The row of the values put since the last reset, in their encoding; the encoder is reset. */
    public Row finish() {
        Row row = Row.encoded(Arrays.copyOf(buf, size), count);
        reset();
        return row;
    }

    /** Writes the row's values into {@code out} from {@code at} (see {@link #encodedSize}); the encoder is reset. */
    public void copyTo(byte[] out, int at) {
        System.arraycopy(buf, 0, out, at, size);
        reset();
    }

    public void putNull() {
        ensure(1);
        buf[size++] = NULL;
        count++;
    }

    public void putBoolean(boolean v) {
        ensure(1);
        buf[size++] = (byte) (v ? TRUE : FALSE);
        count++;
    }

    public void putLong(long v) {
        ensure(9);
        buf[size++] = LONG;
        writeLong(v);
        count++;
    }

    public void putDouble(double v) {
        ensure(9);
        buf[size++] = DOUBLE;
        writeLong(Double.doubleToRawLongBits(v));
        count++;
    }

    /** A string given as valid UTF-8 bytes: copied as they are. */
    public void putUtf8(byte[] utf8, int offset, int length) {
        ensure(5 + length);
        buf[size++] = STRING;
        writeInt(length);
        System.arraycopy(utf8, offset, buf, size, length);
        size += length;
        count++;
    }

    public void putString(String s) {
        // the JDK's encoder checks a Latin-1 string for non-ASCII bytes with a vectorised intrinsic
        // and copies it whole: far cheaper than a char-by-char loop
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        putUtf8(utf8, 0, utf8.length);
    }

    public void putBytes(byte[] b) {
        ensure(5 + b.length);
        buf[size++] = BYTES;
        writeInt(b.length);
        System.arraycopy(b, 0, buf, size, b.length);
        size += b.length;
        count++;
    }

    /**
     * Any value a row may hold: null, Boolean, Long, Double, String, byte[] or a List of those (see
     * {@link LogicalType}).
     *
     * @throws IllegalArgumentException for any other class
     */
    public void put(Object v) {
        if (v == null) {
            putNull();
        } else if (v instanceof String s) {
            putString(s);
        } else if (v instanceof Long l) {
            putLong(l);
        } else if (v instanceof Boolean b) {
            putBoolean(b);
        } else if (v instanceof Double d) {
            putDouble(d);
        } else if (v instanceof byte[] b) {
            putBytes(b);
        } else if (v instanceof List<?> list) {
            ensure(5);
            buf[size++] = LIST;
            writeInt(list.size());
            int outer = count;
            for (Object item : list) {
                put(item);
            }
            count = outer + 1;
        } else {
            throw new IllegalArgumentException("a row value of " + v.getClass().getName()
                    + " is not one of Ferry's value representations (see LogicalType)");
        }
    }

    /** Puts every value of the row: its bytes as they are when it is already encoded. */
    public void putAll(Row row) {
        byte[] encoded = row.encodedValues();
        if (encoded != null) {
            ensure(encoded.length);
            System.arraycopy(encoded, 0, buf, size, encoded.length);
            size += encoded.length;
            count += row.size();
            return;
        }
        for (int i = 0; i < row.size(); i++) {
            put(row.get(i));
        }
    }

    /**
     * Reads {@code n} values written by an encoder.
     *
     * @throws IllegalArgumentException when the bytes are not such values (an unknown tag, a length
     *                                  beyond the buffer)
     */
    public static Object[] decode(ByteBuffer in, int n) {
        Object[] values = new Object[n];
        for (int i = 0; i < n; i++) {
            values[i] = readValue(in);
        }
        return values;
    }

    /**
     * Reads a row of {@code n} values written by an encoder without decoding them: its bytes are
     * checked for shape (tags and lengths) and copied, and {@link Row#get} decodes them only if
     * someone asks. A sink that never looks at a row's values (or hands its bytes on, as the Log
     * does) pays no decoding.
     *
     * @throws IllegalArgumentException when the bytes are not such values
     */
    public static Row readRow(ByteBuffer in, int n) {
        int start = in.position();
        for (int i = 0; i < n; i++) {
            skipValue(in);
        }
        byte[] encoded = new byte[in.position() - start];
        in.get(start, encoded);
        return Row.encoded(encoded, n);
    }

    static void skipValue(ByteBuffer in) {
        int tag = Byte.toUnsignedInt(in.get());
        switch (tag) {
            case NULL, FALSE, TRUE -> { }
            case LONG, DOUBLE -> in.position(in.position() + 8);
            case STRING, BYTES -> {
                int n = length(in);
                in.position(in.position() + n);
            }
            case LIST -> {
                int n = length(in);
                for (int i = 0; i < n; i++) {
                    skipValue(in);
                }
            }
            default -> throw new IllegalArgumentException("unknown value tag " + tag);
        }
    }

    static Object readValue(ByteBuffer in) {
        int tag = Byte.toUnsignedInt(in.get());
        return switch (tag) {
            case NULL -> null;
            case FALSE -> Boolean.FALSE;
            case TRUE -> Boolean.TRUE;
            case LONG -> in.getLong();
            case DOUBLE -> Double.longBitsToDouble(in.getLong());
            case STRING -> {
                int n = length(in);
                String s = new String(in.array(), in.arrayOffset() + in.position(), n, StandardCharsets.UTF_8);
                in.position(in.position() + n);
                yield s;
            }
            case BYTES -> {
                byte[] b = new byte[length(in)];
                in.get(b);
                yield b;
            }
            case LIST -> {
                int n = length(in);
                List<Object> list = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    list.add(readValue(in));
                }
                yield Collections.unmodifiableList(list);
            }
            default -> throw new IllegalArgumentException("unknown value tag " + tag);
        };
    }

    /** A length or count that the remaining bytes can hold (a list's items take a byte each at least). */
    static int length(ByteBuffer in) {
        int n = in.getInt();
        if (n < 0 || n > in.remaining()) {
            throw new IllegalArgumentException("impossible length " + n);
        }
        return n;
    }

    private void ensure(int more) {
        if (size + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
        }
    }

    private void writeInt(int v) {
        buf[size] = (byte) (v >>> 24);
        buf[size + 1] = (byte) (v >>> 16);
        buf[size + 2] = (byte) (v >>> 8);
        buf[size + 3] = (byte) v;
        size += 4;
    }

    private void writeLong(long v) {
        writeInt((int) (v >>> 32));
        writeInt((int) v);
    }
}
