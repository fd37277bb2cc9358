package dev.ferry.postgres;

import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.nio.ByteBuffer;

/** Version 1: {@code [1][lsn: 8][snapshot: 1][index: 8]}, big-endian. */
final class PgPositionCodec implements PositionCodec {
    private static final byte VERSION = 1;

    @Override
    public byte[] encode(Position position) {
        PgPosition p = (PgPosition) position;
        return ByteBuffer.allocate(18).put(VERSION).putLong(p.lsn()).put((byte) (p.snapshot() ? 1 : 0))
                .putLong(p.index()).array();
    }

    @Override
    public Position decode(byte[] bytes) {
        if (bytes.length == 0) {
            throw new IllegalArgumentException("PostgreSQL position is empty (0 bytes); expected format version 1");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte version = b.get();
        if (version != VERSION || bytes.length != 18) {
            throw new IllegalArgumentException("PostgreSQL position of format version " + version
                    + " (" + bytes.length + " bytes) is not one this Ferry reads");
        }
        return new PgPosition(b.getLong(), b.get() == 1, b.getLong());
    }
}
