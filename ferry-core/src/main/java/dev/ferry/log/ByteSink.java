package dev.ferry.log;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable byte array written big-endian, reused from one frame to the next: the Log's encoder
 * writes straight into it, computes the CRC over it and hands it to the channel, with no stream
 * layers, locks or copies in between. Not thread-safe (the Log has one writer).
 */
final class ByteSink {
    private byte[] bytes;
    private int size;

    ByteSink(int initialCapacity) {
        bytes = new byte[initialCapacity];
    }

    int size() {
        return size;
    }

    byte[] array() {
        return bytes;
    }

    void reset() {
        size = 0;
    }

    /** The bytes so far, without copying; valid until the next write. */
    ByteBuffer asBuffer() {
        return ByteBuffer.wrap(bytes, 0, size);
    }

    private void ensure(int more) {
        if (size + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
        }
    }

    void putByte(int v) {
        ensure(1);
        bytes[size++] = (byte) v;
    }

    void putShort(int v) {
        ensure(2);
        bytes[size++] = (byte) (v >>> 8);
        bytes[size++] = (byte) v;
    }

    void putInt(int v) {
        ensure(4);
        setInt(size, v);
        size += 4;
    }

    void setInt(int at, int v) {
        bytes[at] = (byte) (v >>> 24);
        bytes[at + 1] = (byte) (v >>> 16);
        bytes[at + 2] = (byte) (v >>> 8);
        bytes[at + 3] = (byte) v;
    }

    void setByte(int at, int v) {
        bytes[at] = (byte) v;
    }

    void putLong(long v) {
        ensure(8);
        for (int shift = 56; shift >= 0; shift -= 8) {
            bytes[size++] = (byte) (v >>> shift);
        }
    }

    void putBytes(byte[] b) {
        putInt(b.length);
        ensure(b.length);
        System.arraycopy(b, 0, bytes, size, b.length);
        size += b.length;
    }

    /** A length-prefixed UTF-8 string. */
    void putString(String s) {
        // the JDK's encoder checks a Latin-1 string for non-ASCII bytes with a vectorised intrinsic
        // and copies it whole: far cheaper than a char-by-char loop
        putBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Bytes as they are, without a length. */
    void putRaw(byte[] b, int offset, int length) {
        ensure(length);
        System.arraycopy(b, offset, bytes, size, length);
        size += length;
    }

    /** Makes room for {@code length} bytes written next, directly into {@link #array()} before {@link #size()}. */
    void putRaw(int length) {
        ensure(length);
        size += length;
    }
}
