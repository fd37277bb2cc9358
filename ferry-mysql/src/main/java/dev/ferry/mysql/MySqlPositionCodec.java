package dev.ferry.mysql;

import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Version 1: {@code [1][file length: 2][file: UTF-8][offset: 8][snapshot: 1][index: 8][gtid length: 2]
 * [gtid: UTF-8]}, big-endian; a gtid length of 0xFFFF stands for none.
 */
final class MySqlPositionCodec implements PositionCodec {
    private static final byte VERSION = 1;
    private static final int NO_GTID = 0xFFFF;

    @Override
    public byte[] encode(Position position) {
        MySqlPosition p = (MySqlPosition) position;
        byte[] file = p.file().getBytes(StandardCharsets.UTF_8);
        byte[] gtid = p.gtid() == null ? new byte[0] : p.gtid().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(1 + 2 + file.length + 8 + 1 + 8 + 2 + gtid.length);
        b.put(VERSION).putShort((short) file.length).put(file).putLong(p.offset()).put((byte) (p.snapshot() ? 1 : 0))
                .putLong(p.index()).putShort((short) (p.gtid() == null ? NO_GTID : gtid.length)).put(gtid);
        return b.array();
    }

    @Override
    public Position decode(byte[] bytes) {
        if (bytes.length == 0 || bytes[0] != VERSION) {
            throw new IllegalArgumentException("MySQL position of format version " + (bytes.length == 0 ? "(empty)" : bytes[0])
                    + " (" + bytes.length + " bytes) is not one this Ferry reads");
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes, 1, bytes.length - 1);
            byte[] file = new byte[Short.toUnsignedInt(b.getShort())];
            b.get(file);
            long offset = b.getLong();
            boolean snapshot = b.get() == 1;
            long index = b.getLong();
            int gtidLength = Short.toUnsignedInt(b.getShort());
            String gtid = null;
            if (gtidLength != NO_GTID) {
                byte[] g = new byte[gtidLength];
                b.get(g);
                gtid = new String(g, StandardCharsets.UTF_8);
            }
            if (b.hasRemaining()) {
                throw new IllegalArgumentException("MySQL position has " + b.remaining() + " bytes too many");
            }
            return new MySqlPosition(new String(file, StandardCharsets.UTF_8), offset, snapshot, index, gtid);
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("MySQL position is cut short (" + bytes.length + " bytes)", e);
        }
    }
}
