package dev.ferry.log;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.RowEncoder;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The binary form of events inside one Log frame. A frame declares each table schema once, the
 * first time one of its events appears, and later events refer to it by number, so a batch of a
 * thousand rows of one table carries its column list once.
 *
 * <p>Row values are in {@link RowEncoder}'s encoding; a row a source built encoded is copied as it is.
 */
final class EventCodec {
    private static final LogicalType[] TYPES = LogicalType.values();
    private static final Op[] OPS = Op.values();

    private final PositionCodec positions;
    /** The schema of the last event encoded, its number and the frame's dictionary it is in. */
    private Map<TableSchema, Integer> lastDeclared;
    private TableSchema lastSchema;
    private int lastRef;
    /** Encodes the values of rows built as objects; used under the Log's append lock only. */
    private final RowEncoder values = new RowEncoder();

    EventCodec(PositionCodec positions) {
        this.positions = positions;
    }

    /**
     * Writes one event of a frame. {@code declared} is the frame's schema dictionary: a schema is
     * written in full the first time one of its events appears in the frame, later by number.
     */
    void encode(ChangeEvent e, Map<TableSchema, Integer> declared, ByteSink out) {
        if (declared == lastDeclared && e.schema() == lastSchema) {
            out.putInt(lastRef); // most events share their predecessor's schema: no map lookup
        } else {
            Integer ref = declared.get(e.schema());
            if (ref == null) {
                ref = declared.size();
                declared.put(e.schema(), ref);
                out.putInt(ref);
                writeSchema(e.schema(), out);
            } else {
                out.putInt(ref);
            }
            lastDeclared = declared;
            lastSchema = e.schema();
            lastRef = ref;
        }
        out.putByte(e.op().ordinal());
        writeRow(e.before(), out);
        writeRow(e.after(), out);
        out.putShort(e.unchanged().size());
        for (String name : e.unchanged()) {
            out.putString(name);
        }
        out.putBytes(positions.encode(e.position()));
        out.putLong(e.txId());
        out.putLong(e.committedAt().getEpochSecond());
        out.putInt(e.committedAt().getNano());
    }

    /** Reads the {@code count} events of one frame. */
    List<ChangeEvent> decode(ByteBuffer in, int count) throws IOException {
        return decode(in, count, null);
    }

    /**
     * Reads the {@code count} events of one frame and, into {@code sizes} unless null, how many bytes
     * each took (a schema declared with an event counts in its size): the measure of a batch's bytes,
     * taken while decoding, so nothing is encoded again to weigh it.
     */
    List<ChangeEvent> decode(ByteBuffer in, int count, int[] sizes) throws IOException {
        List<TableSchema> schemas = new ArrayList<>();
        List<ChangeEvent> events = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int start = in.position();
            int ref = in.getInt();
            if (ref == schemas.size()) {
                schemas.add(readSchema(in));
            } else if (ref > schemas.size() || ref < 0) {
                throw new IOException("schema reference " + ref + " before its declaration");
            }
            TableSchema schema = schemas.get(ref);
            Op op = OPS[Byte.toUnsignedInt(in.get())];
            Row before = readRow(in);
            Row after = readRow(in);
            int unchangedCount = Short.toUnsignedInt(in.getShort());
            Set<String> unchanged = unchangedCount == 0 ? Set.of() : new HashSet<>();
            for (int u = 0; u < unchangedCount; u++) {
                unchanged.add(readString(in));
            }
            Position position = positions.decode(readBytes(in));
            long txId = in.getLong();
            Instant committedAt = Instant.ofEpochSecond(in.getLong(), in.getInt());
            events.add(new ChangeEvent(op, schema, before, after, unchanged, position, txId, committedAt));
            if (sizes != null) {
                sizes[i] = in.position() - start;
            }
        }
        return events;
    }

    private static void writeSchema(TableSchema schema, ByteSink out) {
        out.putString(schema.table().schema());
        out.putString(schema.table().name());
        out.putShort(schema.size());
        for (Column c : schema.columns()) {
            out.putString(c.name());
            out.putByte(c.type().ordinal());
            out.putByte(c.elementType() == null ? -1 : c.elementType().ordinal());
            out.putString(c.sourceType());
            out.putByte(c.key() ? 1 : 0);
        }
    }

    private static TableSchema readSchema(ByteBuffer in) throws IOException {
        TableId table = new TableId(readString(in), readString(in));
        int n = Short.toUnsignedInt(in.getShort());
        List<Column> columns = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String name = readString(in);
            LogicalType type = TYPES[Byte.toUnsignedInt(in.get())];
            byte element = in.get();
            String sourceType = readString(in);
            boolean key = in.get() != 0;
            columns.add(new Column(name, type, element < 0 ? null : TYPES[element], sourceType, key));
        }
        return new TableSchema(table, columns);
    }

    /** A row: its value count, then its values in {@link RowEncoder}'s encoding; -1 for none. */
    private void writeRow(Row row, ByteSink out) {
        if (row == null) {
            out.putShort(-1);
            return;
        }
        out.putShort(row.size());
        byte[] encoded = row.encodedValues();
        if (encoded != null) {
            out.putRaw(encoded, 0, encoded.length);
        } else {
            values.reset(); // a value refused in an earlier row may have left some behind
            values.putAll(row);
            out.putRaw(values.encodedSize());
            values.copyTo(out.array(), out.size() - values.encodedSize());
        }
    }

    private static Row readRow(ByteBuffer in) throws IOException {
        int n = in.getShort();
        if (n < 0) {
            return null;
        }
        try {
            return RowEncoder.readRow(in, n); // decoded when a sink asks for a value
        } catch (IllegalArgumentException | java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new IOException("a row that cannot be decoded: " + e.getMessage(), e);
        }
    }

    private static String readString(ByteBuffer in) throws IOException {
        int n = in.getInt();
        if (n < 0 || n > in.remaining()) {
            throw new IOException("impossible string length " + n);
        }
        String s = new String(in.array(), in.arrayOffset() + in.position(), n, StandardCharsets.UTF_8);
        in.position(in.position() + n);
        return s;
    }

    private static byte[] readBytes(ByteBuffer in) throws IOException {
        int n = in.getInt();
        if (n < 0 || n > in.remaining()) {
            throw new IOException("impossible length " + n);
        }
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }
}
