package dev.ferry.postgres;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.RowEncoder;
import dev.ferry.event.TableSchema;
import dev.ferry.postgres.pgoutput.PgOutputDecoder;
import dev.ferry.postgres.pgoutput.PgOutputMessage;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * Real pgoutput messages captured from PostgreSQL by {@code dev.ferry.bench.PgOutputCapture}, and
 * the decoding the stream applies to them ({@code ChangeStream}'s: {@link PgOutputDecoder}, then
 * {@link RelationSchemas} for relations and rows), for the micro-benchmarks. In this package for
 * the stream's package-private pieces; nothing here talks to a server.
 */
public final class CapturedChanges {
    /** The committed capture: 10,000 changes of the CDC benchmark's backlog mix. */
    public static final String SHOP = "/pgoutput/shop.bin.gz";

    private final List<byte[]> messages;
    private final Map<Integer, TableSchema> relations = new HashMap<>();
    private final Map<Integer, String> typeNames = new HashMap<>();
    private final RowEncoder rows = new RowEncoder();
    private long lsn;
    private long xid;
    private Instant committed = Instant.EPOCH;
    private int index;

    private CapturedChanges(List<byte[]> messages) {
        this.messages = messages;
    }

    /** The messages of a capture on the class path. */
    public static CapturedChanges load(String resource) throws IOException {
        List<byte[]> messages = new ArrayList<>();
        try (InputStream raw = CapturedChanges.class.getResourceAsStream(resource)) {
            if (raw == null) {
                throw new IOException("no capture " + resource + " on the class path");
            }
            DataInputStream in = new DataInputStream(new GZIPInputStream(raw));
            while (true) {
                int n;
                try {
                    n = in.readInt();
                } catch (EOFException end) {
                    break;
                }
                byte[] m = new byte[n];
                in.readFully(m);
                messages.add(m);
            }
        }
        return new CapturedChanges(messages);
    }

    public List<byte[]> messages() {
        return messages;
    }

    /** The messages decoded into messages only: {@link PgOutputDecoder}'s share. */
    public int decodeMessages(java.util.function.Consumer<PgOutputMessage> out) {
        for (byte[] m : messages) {
            out.accept(PgOutputDecoder.decode(ByteBuffer.wrap(m)));
        }
        return messages.size();
    }

    /** The messages decoded into change events, as the stream makes them; relations and types remembered. */
    public List<ChangeEvent> events() {
        List<ChangeEvent> out = new ArrayList<>();
        for (byte[] m : messages) {
            handle(PgOutputDecoder.decode(ByteBuffer.wrap(m)), out);
        }
        return out;
    }

    private void handle(PgOutputMessage message, List<ChangeEvent> out) {
        if (message instanceof PgOutputMessage.Begin b) {
            lsn = b.finalLsn();
            xid = b.xid();
            committed = PgEpoch.toInstant(b.commitMicros());
            index = 0;
        } else if (message instanceof PgOutputMessage.Relation r) {
            try {
                relations.put(r.id(), RelationSchemas.of(r, typeNames, null));
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e); // no catalog, no SQL
            }
        } else if (message instanceof PgOutputMessage.Type t) {
            typeNames.put(t.oid(), t.namespace() + "." + t.name());
        } else if (message instanceof PgOutputMessage.Insert i) {
            emit(Op.CREATE, i.relationId(), null, i.after(), out);
        } else if (message instanceof PgOutputMessage.Update u) {
            emit(Op.UPDATE, u.relationId(), u.before(), u.after(), out);
        } else if (message instanceof PgOutputMessage.Delete d) {
            emit(Op.DELETE, d.relationId(), d.before(), null, out);
        }
    }

    private void emit(Op op, int relationId, PgOutputMessage.Tuple before, PgOutputMessage.Tuple after,
                      List<ChangeEvent> out) {
        TableSchema schema = relations.get(relationId);
        Set<String> unchanged = new HashSet<>();
        out.add(new ChangeEvent(op, schema, before == null ? null : RelationSchemas.row(schema, before, null, rows),
                after == null ? null : RelationSchemas.row(schema, after, before, unchanged, rows), unchanged,
                new PgPosition(lsn, false, index++), xid, committed));
    }
}
