package dev.ferry.log;

import dev.ferry.event.ChangeEvent;
import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * One frame of a Log segment: {@code u32 length, u32 CRC-32C of the body, body}. The body holds
 * {@code u8 version, u8 flags, u64 append number, u64 durable append, u64 first offset, u32 event
 * count, events, u32 + position}. One {@link FileLog#append} writes one or more frames with the same append
 * number; the last of them carries {@link #LAST_OF_APPEND}. Each frame also records the newest append
 * that was fsync'd before it was written. Recovery uses both to tell a torn write (never fsync'd,
 * never acknowledged) from corruption of an fsync'd append.
 *
 * @param appendNumber  which append wrote the frame; increases by one per append
 * @param durableAppend the newest append fsync'd before this frame was written; -1 for none
 * @param lastOfAppend  whether this frame ends its append
 * @param firstOffset   the offset of the frame's first event
 * @param position      the source position reached after the frame's events
 * @param events        the events (possibly none)
 * @param eventBytes    how many bytes of the frame each event took, in the order of the events
 * @param totalBytes    the frame's size on disk, header included
 */
record Frame(long appendNumber, long durableAppend, boolean lastOfAppend, long firstOffset, Position position, List<ChangeEvent> events,
             int[] eventBytes, long totalBytes) {
    static final int VERSION = 1;
    static final int LAST_OF_APPEND = 1;
    static final int HEADER_BYTES = 8;
    /** A frame larger than this is refused on write and taken as a corrupt length on read. */
    static final int MAX_BYTES = 1024 * 1024 * 1024;

    /** Where the body starts: after the length and the checksum. */
    private static final int BODY = HEADER_BYTES;
    private static final int FLAGS_AT = BODY + 1;
    private static final int COUNT_AT = BODY + 26;

    /**
     * Starts a frame in {@code sink} (emptied first): header placeholders and the fixed part of the
     * body. Events follow through {@link EventCodec#encode}; {@link #finish} completes it.
     */
    static void begin(ByteSink sink, long appendNumber, long durableAppend, long firstOffset) {
        sink.reset();
        sink.putInt(0); // length, set by finish
        sink.putInt(0); // checksum, set by finish
        sink.putByte(VERSION);
        sink.putByte(0); // flags, set by finish
        sink.putLong(appendNumber);
        sink.putLong(durableAppend);
        sink.putLong(firstOffset);
        sink.putInt(0); // event count, set by finish
    }

    /** Completes the frame begun in {@code sink}; returns its bytes, a view of the sink's array. */
    static ByteBuffer finish(ByteSink sink, boolean lastOfAppend, int count, byte[] position) throws IOException {
        sink.setByte(FLAGS_AT, lastOfAppend ? LAST_OF_APPEND : 0);
        sink.setInt(COUNT_AT, count);
        sink.putBytes(position);
        int length = sink.size() - HEADER_BYTES;
        if (length > MAX_BYTES) {
            throw new IOException("a frame of " + count + " events encodes to " + length
                    + " bytes, more than the Log's frame limit of " + MAX_BYTES);
        }
        sink.setInt(0, length);
        CRC32C crc = new CRC32C();
        crc.update(sink.array(), HEADER_BYTES, length);
        sink.setInt(4, (int) crc.getValue());
        return sink.asBuffer();
    }

    /** Why a frame could not be read; null when it was read. */
    enum Damage { CUT_SHORT, BAD_LENGTH, BAD_CHECKSUM }

    /** The outcome of reading at one place: a frame, or the damage found there. */
    record Read(Frame frame, Damage damage) {
    }

    /**
     * Reads the frame at {@code at}, looking at no byte at or after {@code limit}. Returns the
     * damage instead when the bytes there are not a whole, intact frame; {@code Read(null, null)} at
     * exactly {@code limit}.
     */
    static Read read(FileChannel ch, long at, long limit, PositionCodec positions, EventCodec codec) throws IOException {
        return read(ch, at, limit, positions, codec, null);
    }

    /**
     * {@link #read(FileChannel, long, long, PositionCodec, EventCodec)} into {@code scratch}'s buffer
     * (a new one when null): the events copy what they keep, so a reader reuses one buffer for every frame.
     */
    static Read read(FileChannel ch, long at, long limit, PositionCodec positions, EventCodec codec, Scratch scratch)
            throws IOException {
        if (at == limit) {
            return new Read(null, null);
        }
        if (at + HEADER_BYTES > limit) {
            return new Read(null, Damage.CUT_SHORT);
        }
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
        readFully(ch, header, at);
        int length = header.getInt(0);
        int crc = header.getInt(4);
        if (length <= 0 || length > MAX_BYTES) {
            return new Read(null, Damage.BAD_LENGTH);
        }
        if (at + HEADER_BYTES + length > limit) {
            return new Read(null, Damage.CUT_SHORT);
        }
        ByteBuffer body = scratch == null ? ByteBuffer.allocate(length) : scratch.body(length);
        readFully(ch, body, at + HEADER_BYTES);
        CRC32C check = new CRC32C();
        check.update(body.array(), 0, length);
        if ((int) check.getValue() != crc) {
            return new Read(null, Damage.BAD_CHECKSUM);
        }
        ByteBuffer in = body.flip();
        int version = Byte.toUnsignedInt(in.get());
        if (version != VERSION) {
            throw new IOException("Log frame version " + version + " at byte " + at + " is not one this Ferry reads");
        }
        boolean last = (in.get() & LAST_OF_APPEND) != 0;
        long appendNumber = in.getLong();
        long durableAppend = in.getLong();
        long first = in.getLong();
        int count = in.getInt();
        int[] sizes = new int[count];
        List<ChangeEvent> events = codec.decode(in, count, sizes);
        byte[] pos = new byte[in.getInt()];
        in.get(pos);
        return new Read(new Frame(appendNumber, durableAppend, last, first, positions.decode(pos), events, sizes,
                (long) HEADER_BYTES + length), null);
    }

    /**
     * A reader's buffer for frame bodies, kept from frame to frame: a new 8 MB array per frame (frames
     * are cut at about 8 MB) was a quarter of a null sink's CPU, zeroing it. Kept up to 16 MB; a
     * larger frame (one large event) is read into its own buffer, left to the GC. Not thread-safe.
     */
    static final class Scratch {
        private static final int KEEP_BYTES = 16 * 1024 * 1024;
        private ByteBuffer buffer = ByteBuffer.allocate(0);

        /** A heap buffer of {@code length} bytes' limit, positioned at 0. */
        ByteBuffer body(int length) {
            if (length > KEEP_BYTES) {
                return ByteBuffer.allocate(length);
            }
            if (buffer.capacity() < length) {
                buffer = ByteBuffer.allocate(Math.min(KEEP_BYTES, Math.max(length, buffer.capacity() + buffer.capacity() / 4)));
            }
            return buffer.clear().limit(length);
        }
    }

    /**
     * The most of a heap buffer given to a channel in one call. The JDK copies a heap buffer through
     * a direct buffer that it keeps per thread, as large as the largest call the thread made: frames
     * (8 MB and a little more; one event's frame up to 1 GB) would each thread hold that much native
     * memory, and allocate and zero it again as frames grew (a fresh pipeline's capture and sink
     * threads did several times: 5-6% of their CPU in a 1-million-row snapshot's profile). In slices,
     * one buffer of 1 MB serves every frame.
     */
    static final int IO_SLICE = 1 << 20;

    /**
     * Reads from {@code at} until {@code buf} is full to its limit, in {@link #IO_SLICE}s; its position
     * ends at that limit, which stays as it was.
     */
    static void readFully(FileChannel ch, ByteBuffer buf, long at) throws IOException {
        long p = at;
        int end = buf.limit();
        try {
            while (buf.position() < end) {
                buf.limit(buf.position() + Math.min(end - buf.position(), IO_SLICE));
                int n = ch.read(buf, p);
                if (n < 0) {
                    throw new IOException("unexpected end of file at byte " + p);
                }
                p += n;
            }
        } finally {
            buf.limit(end);
        }
    }

    /** Writes all of {@code buf} at the channel's position, in {@link #IO_SLICE}s; returns the bytes written. */
    static long writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        long written = 0;
        int end = buf.limit();
        try {
            while (buf.position() < end) {
                buf.limit(buf.position() + Math.min(end - buf.position(), IO_SLICE));
                written += ch.write(buf);
            }
        } finally {
            buf.limit(end);
        }
        return written;
    }

    static String describe(Damage damage) {
        return switch (damage) {
            case CUT_SHORT -> "the frame is cut short";
            case BAD_LENGTH -> "the frame length is impossible";
            case BAD_CHECKSUM -> "the checksum does not match (the bytes changed on disk)";
        };
    }
}
