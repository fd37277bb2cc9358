package dev.ferry.bench;

import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * The position of a pretend source: one counter. Its codec writes a version byte and the counter,
 * nine bytes, about what a real source's position costs (PostgreSQL's is an LSN and a counter).
 */
record BenchPosition(long value) implements Position {
    static final PositionCodec CODEC = new PositionCodec() {
        @Override
        public byte[] encode(Position position) {
            return ByteBuffer.allocate(9).put((byte) 1).putLong(((BenchPosition) position).value()).array();
        }

        @Override
        public Position decode(byte[] bytes) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            byte version = b.get();
            if (version != 1 || bytes.length != 9) {
                throw new IllegalArgumentException("unknown BenchPosition encoding, version " + version);
            }
            return new BenchPosition(b.getLong());
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
        return Long.compare(value, ((BenchPosition) o).value);
    }
}
