package dev.ferry.log;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.TableSchema;
import dev.ferry.source.PositionCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Events in the Log's binary form, on their own (schemas included), for the places that keep events
 * outside the file Log and must give them back exactly: the dead-letter log (one event), a Log kept
 * elsewhere (a batch per record). Stateless.
 */
public final class EventBytes {
    private EventBytes() {
    }

    /** The event with its schema, in the Log's encoding. */
    public static byte[] encode(ChangeEvent event, PositionCodec positions) {
        return encodeAll(List.of(event), positions);
    }

    /** The events with their schemas, each schema once, in the Log's encoding. */
    public static byte[] encodeAll(List<ChangeEvent> events, PositionCodec positions) {
        ByteSink out = new ByteSink(1024);
        EventCodec codec = new EventCodec(positions);
        Map<TableSchema, Integer> declared = new HashMap<>();
        for (ChangeEvent e : events) {
            codec.encode(e, declared, out);
        }
        return Arrays.copyOf(out.array(), out.size());
    }

    /**
     * The {@code count} events {@link #encodeAll} wrote.
     *
     * @throws IOException when the bytes are not such events
     */
    public static List<ChangeEvent> decodeAll(byte[] bytes, int count, PositionCodec positions) throws IOException {
        return decodeAll(bytes, count, positions, null);
    }

    /**
     * The {@code count} events {@link #encodeAll} wrote, and into {@code sizes} (unless null, at least
     * {@code count} long) how many of the bytes each took, its schema included where it declared one.
     *
     * @throws IOException when the bytes are not such events
     */
    public static List<ChangeEvent> decodeAll(byte[] bytes, int count, PositionCodec positions, int[] sizes)
            throws IOException {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        List<ChangeEvent> events;
        try {
            events = new EventCodec(positions).decode(in, count, sizes);
        } catch (RuntimeException e) {
            throw new IOException("not " + count + " encoded events: " + e, e);
        }
        if (in.hasRemaining()) {
            throw new IOException(in.remaining() + " bytes after the " + count + " encoded events");
        }
        return events;
    }

    /**
     * The event {@link #encode} wrote.
     *
     * @throws IOException when the bytes are not such an event
     */
    public static ChangeEvent decode(byte[] bytes, PositionCodec positions) throws IOException {
        return decodeAll(bytes, 1, positions).get(0);
    }
}
