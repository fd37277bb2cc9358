package dev.ferry.postgres.pgoutput;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes one pgoutput message (protocol versions 1 and 2) from the payload of an XLogData message.
 * Pure and stateless: bytes in, a message out; it never talks to the server or the catalog, so
 * captured bytes make a unit test. The one piece of context, whether the message lies between a
 * Stream Start and a Stream Stop, is the caller's to pass: there, data messages carry the xid of the
 * (sub)transaction that made them.
 */
public final class PgOutputDecoder {
    private PgOutputDecoder() {
    }

    /** Decodes the message in {@code buf} from its position to its limit, outside a stream block. */
    public static PgOutputMessage decode(ByteBuffer buf) {
        return decode(buf, false);
    }

    /**
     * Decodes the message in {@code buf}; {@code inStreamBlock} when it came between a Stream Start
     * and a Stream Stop (protocol 2), where data messages carry an xid, skipped here (see
     * {@link #streamedXid}).
     */
    public static PgOutputMessage decode(ByteBuffer buf, boolean inStreamBlock) {
        char tag = (char) buf.get();
        if (inStreamBlock && carriesXid(tag)) {
            buf.getInt();
        }
        return switch (tag) {
            case 'B' -> new PgOutputMessage.Begin(buf.getLong(), buf.getLong(), Integer.toUnsignedLong(buf.getInt()));
            case 'C' -> {
                buf.get(); // flags, unused
                yield new PgOutputMessage.Commit(buf.getLong(), buf.getLong(), buf.getLong());
            }
            case 'R' -> relation(buf);
            case 'Y' -> new PgOutputMessage.Type(buf.getInt(), string(buf), string(buf));
            case 'I' -> {
                int rel = buf.getInt();
                expect(buf, 'N');
                yield new PgOutputMessage.Insert(rel, tuple(buf));
            }
            case 'U' -> {
                int rel = buf.getInt();
                char kind = (char) buf.get();
                PgOutputMessage.Tuple before = null;
                boolean keyOnly = false;
                if (kind == 'K' || kind == 'O') {
                    before = tuple(buf);
                    keyOnly = kind == 'K';
                    kind = (char) buf.get();
                }
                if (kind != 'N') {
                    throw new IllegalArgumentException("pgoutput update: expected 'N', got '" + kind + "'");
                }
                yield new PgOutputMessage.Update(rel, before, keyOnly, tuple(buf));
            }
            case 'D' -> {
                int rel = buf.getInt();
                char kind = (char) buf.get();
                yield new PgOutputMessage.Delete(rel, tuple(buf), kind == 'K');
            }
            case 'T' -> {
                int n = buf.getInt();
                int options = buf.get();
                List<Integer> ids = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    ids.add(buf.getInt());
                }
                yield new PgOutputMessage.Truncate(ids, (options & 1) != 0, (options & 2) != 0);
            }
            case 'M' -> {
                boolean transactional = (buf.get() & 1) != 0;
                long lsn = buf.getLong();
                String prefix = string(buf);
                byte[] content = new byte[buf.getInt()];
                buf.get(content);
                yield new PgOutputMessage.LogicalMessage(transactional, lsn, prefix, content);
            }
            case 'S' -> {
                long xid = Integer.toUnsignedLong(buf.getInt());
                yield new PgOutputMessage.StreamStart(xid, buf.get() == 1);
            }
            case 'E' -> new PgOutputMessage.StreamStop();
            case 'c' -> {
                long xid = Integer.toUnsignedLong(buf.getInt());
                buf.get(); // flags, unused
                yield new PgOutputMessage.StreamCommit(xid, buf.getLong(), buf.getLong(), buf.getLong());
            }
            case 'A' -> new PgOutputMessage.StreamAbort(Integer.toUnsignedLong(buf.getInt()),
                    Integer.toUnsignedLong(buf.getInt()));
            default -> new PgOutputMessage.Ignored(tag);
        };
    }

    /**
     * The xid a data message of a stream block carries (the subtransaction's, for a change made in
     * one), read without moving the buffer; -1 for a message that carries none.
     */
    public static long streamedXid(ByteBuffer buf) {
        char tag = (char) buf.get(buf.position());
        return carriesXid(tag) ? Integer.toUnsignedLong(buf.getInt(buf.position() + 1)) : -1;
    }

    private static boolean carriesXid(char tag) {
        return switch (tag) {
            case 'R', 'Y', 'I', 'U', 'D', 'T', 'M' -> true;
            default -> false;
        };
    }

    private static PgOutputMessage.Relation relation(ByteBuffer buf) {
        int id = buf.getInt();
        String namespace = string(buf);
        String name = string(buf);
        char identity = (char) buf.get();
        int n = buf.getShort();
        List<PgOutputMessage.RelationColumn> columns = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int flags = buf.get();
            String column = string(buf);
            int oid = buf.getInt();
            int typmod = buf.getInt();
            columns.add(new PgOutputMessage.RelationColumn(column, oid, typmod, (flags & 1) != 0));
        }
        // pgoutput writes an empty namespace for pg_catalog
        return new PgOutputMessage.Relation(id, namespace.isEmpty() ? "pg_catalog" : namespace, name, identity, columns);
    }

    /** A tuple's values stay bytes: one copy of the tuple, no {@code String} per value. */
    private static PgOutputMessage.Tuple tuple(ByteBuffer buf) {
        int n = buf.getShort();
        int[] starts = new int[n];
        int[] lengths = new int[n];
        boolean[] unchanged = new boolean[n];
        int from = buf.position();
        for (int i = 0; i < n; i++) {
            char kind = (char) buf.get();
            lengths[i] = -1;
            switch (kind) {
                case 'n' -> { }
                case 'u' -> unchanged[i] = true;
                case 't' -> {
                    int len = buf.getInt();
                    if (len < 0 || len > buf.remaining()) {
                        throw new IllegalArgumentException("pgoutput tuple: impossible value length " + len);
                    }
                    starts[i] = buf.position() - from;
                    lengths[i] = len;
                    buf.position(buf.position() + len);
                }
                default -> throw new IllegalArgumentException("pgoutput tuple: unknown column kind '" + kind + "'");
            }
        }
        byte[] data = new byte[buf.position() - from];
        buf.get(from, data);
        return new PgOutputMessage.Tuple(data, starts, lengths, unchanged);
    }

    private static String string(ByteBuffer buf) {
        int start = buf.position();
        int end = start;
        while (buf.get(end) != 0) {
            end++;
        }
        String s = new String(buf.array(), buf.arrayOffset() + start, end - start, StandardCharsets.UTF_8);
        buf.position(end + 1);
        return s;
    }

    private static void expect(ByteBuffer buf, char c) {
        char got = (char) buf.get();
        if (got != c) {
            throw new IllegalArgumentException("pgoutput: expected '" + c + "', got '" + got + "'");
        }
    }
}
