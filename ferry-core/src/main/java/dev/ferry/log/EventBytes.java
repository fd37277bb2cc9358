package dev.ferry.log;

import dev.ferry.event.ChangeEvent;
import dev.ferry.source.PositionCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;

/**
 * One event in the Log's binary form, on its own (schema included), for the places that keep an event
 * outside the Log and must give it back exactly: the dead-letter log. Stateless.
 */
public final class EventBytes {
    private EventBytes() {
    }

    /** The event with its schema, in the Log's encoding. */
    public static byte[] encode(ChangeEvent event, PositionCodec positions) {
        ByteSink out = new ByteSink(1024);
        new EventCodec(positions).encode(event, new HashMap<>(), out);
        return Arrays.copyOf(out.array(), out.size());
    }

    /**
     * The event {@link #encode} wrote.
     *
     * @throws IOException when the bytes are not such an event
     */
    public static ChangeEvent decode(byte[] bytes, PositionCodec positions) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        List<ChangeEvent> events;
        try {
            events = new EventCodec(positions).decode(in, 1);
        } catch (RuntimeException e) {
            throw new IOException("not an encoded event: " + e, e);
        }
        if (in.hasRemaining()) {
            throw new IOException(in.remaining() + " bytes after the encoded event");
        }
        return events.get(0);
    }
}
