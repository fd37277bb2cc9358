package dev.ferry.log;

import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.nio.ByteBuffer;
import java.util.Map;

/** A position of a pretend source (for the Log's tests and others'): one counter. Its codec writes a version byte, then the counter. */
public record TestPosition(long value) implements Position {
    static final PositionCodec CODEC = new PositionCodec() {
        @Override
        public byte[] encode(Position position) {
            return ByteBuffer.allocate(9).put((byte) 1).putLong(((TestPosition) position).value()).array();
        }

        @Override
        public Position decode(byte[] bytes) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            byte version = b.get();
            if (version != 1 || bytes.length != 9) {
                throw new IllegalArgumentException("unknown TestPosition encoding, version " + version);
            }
            return new TestPosition(b.getLong());
        }
    };

    @Override
    public String display() {
        return "#" + value;
    }

    @Override
    public boolean snapshot() {
        return false;
    }

    @Override
    public Map<String, Object> envelopeFields() {
        return Map.of("counter", value);
    }

    @Override
    public int compareTo(Position o) {
        return Long.compare(value, ((TestPosition) o).value);
    }
}
