package dev.ferry.jdbc;

import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Version 1: {@code [1][run: 8][index: 8][has window: 1][window: UTF][mark count: 4]} then per
 * mark {@code [table: UTF][run: 8][cursor: UTF]}, big-endian, UTF as {@link DataOutputStream#writeUTF}.
 */
final class JdbcPositionCodec implements PositionCodec {
    private static final byte VERSION = 1;

    /** The size of a position with no window and no marks: every event's but the last of each poll. */
    private static final int BARE = 1 + 8 + 8 + 1 + 4;

    @Override
    public byte[] encode(Position position) {
        JdbcPosition p = (JdbcPosition) position;
        if (p.window() == null && p.marks().isEmpty()) {
            // every event's position: written without streams, as the Log encodes one per event
            return ByteBuffer.allocate(BARE).put(VERSION).putLong(p.run()).putLong(p.index()).put((byte) 0).putInt(0)
                    .array();
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(32);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            out.writeLong(p.run());
            out.writeLong(p.index());
            out.writeBoolean(p.window() != null);
            if (p.window() != null) {
                out.writeUTF(p.window());
            }
            out.writeInt(p.marks().size());
            for (var e : p.marks().entrySet()) {
                out.writeUTF(e.getKey());
                out.writeLong(e.getValue().run());
                out.writeUTF(e.getValue().cursor());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    @Override
    public Position decode(byte[] bytes) {
        if (bytes.length == 0 || bytes[0] != VERSION) {
            throw new IllegalArgumentException("JDBC position of format version " + (bytes.length == 0 ? "(empty)" : bytes[0])
                    + " (" + bytes.length + " bytes) is not one this Ferry reads");
        }
        if (bytes.length == BARE && bytes[17] == 0) {
            ByteBuffer b = ByteBuffer.wrap(bytes, 1, BARE - 1);
            long run = b.getLong();
            long index = b.getLong();
            b.get();
            if (b.getInt() == 0) {
                return new JdbcPosition(run, index, null, java.util.Collections.emptySortedMap());
            }
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, 1, bytes.length - 1))) {
            long run = in.readLong();
            long index = in.readLong();
            String window = in.readBoolean() ? in.readUTF() : null;
            int count = in.readInt();
            if (count < 0 || count > bytes.length) {
                throw new IllegalArgumentException("JDBC position claims " + count + " tables in " + bytes.length + " bytes");
            }
            SortedMap<String, JdbcPosition.TableMark> marks = new TreeMap<>();
            for (int i = 0; i < count; i++) {
                marks.put(in.readUTF(), new JdbcPosition.TableMark(in.readLong(), in.readUTF()));
            }
            if (in.available() > 0) {
                throw new IllegalArgumentException("JDBC position has " + in.available() + " bytes too many");
            }
            return new JdbcPosition(run, index, window, marks);
        } catch (EOFException e) {
            throw new IllegalArgumentException("JDBC position is cut short (" + bytes.length + " bytes)", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
