package dev.ferry.log;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The binary form of events inside one Log frame. A frame declares each table schema once, the
 * first time one of its events appears, and later events refer to it by number, so a batch of a
 * thousand rows of one table carries its column list once.
 *
 * <p>Value tags: 0 null, 1 false, 2 true, 3 long, 4 double, 5 UTF-8 string, 6 bytes, 7 list.
 */
final class EventCodec {
    private static final LogicalType[] TYPES = LogicalType.values();
    private static final Op[] OPS = Op.values();

    private final PositionCodec positions;

    EventCodec(PositionCodec positions) {
        this.positions = positions;
    }

    /** Writes the events of one frame. */
    void encode(List<ChangeEvent> events, DataOutputStream out) throws IOException {
        Map<TableSchema, Integer> declared = new IdentityHashMap<>();
        out.writeInt(events.size());
        for (ChangeEvent e : events) {
            Integer ref = declared.get(e.schema());
            if (ref == null) {
                ref = declared.size();
                declared.put(e.schema(), ref);
                out.writeInt(ref);
                writeSchema(e.schema(), out);
            } else {
                out.writeInt(ref);
            }
            out.writeByte(e.op().ordinal());
            writeRow(e.before(), out);
            writeRow(e.after(), out);
            out.writeShort(e.unchanged().size());
            for (String name : e.unchanged()) {
                writeString(name, out);
            }
            writeBytes(positions.encode(e.position()), out);
            out.writeLong(e.txId());
            out.writeLong(e.committedAt().getEpochSecond());
            out.writeInt(e.committedAt().getNano());
        }
    }

    /** Reads the events of one frame. */
    List<ChangeEvent> decode(DataInputStream in) throws IOException {
        int count = in.readInt();
        List<TableSchema> schemas = new ArrayList<>();
        List<ChangeEvent> events = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int ref = in.readInt();
            if (ref == schemas.size()) {
                schemas.add(readSchema(in));
            } else if (ref > schemas.size()) {
                throw new IOException("schema reference " + ref + " before its declaration");
            }
            TableSchema schema = schemas.get(ref);
            Op op = OPS[in.readUnsignedByte()];
            Row before = readRow(in);
            Row after = readRow(in);
            int unchangedCount = in.readUnsignedShort();
            Set<String> unchanged = unchangedCount == 0 ? Set.of() : new HashSet<>();
            for (int u = 0; u < unchangedCount; u++) {
                unchanged.add(readString(in));
            }
            Position position = positions.decode(readBytes(in));
            long txId = in.readLong();
            Instant committedAt = Instant.ofEpochSecond(in.readLong(), in.readInt());
            events.add(new ChangeEvent(op, schema, before, after, unchanged, position, txId, committedAt));
        }
        return events;
    }

    static byte[] encodeEvents(EventCodec codec, List<ChangeEvent> events) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256 * Math.max(1, events.size()));
        codec.encode(events, new DataOutputStream(bytes));
        return bytes.toByteArray();
    }

    private static void writeSchema(TableSchema schema, DataOutputStream out) throws IOException {
        writeString(schema.table().schema(), out);
        writeString(schema.table().name(), out);
        out.writeShort(schema.size());
        for (Column c : schema.columns()) {
            writeString(c.name(), out);
            out.writeByte(c.type().ordinal());
            out.writeByte(c.elementType() == null ? -1 : c.elementType().ordinal());
            writeString(c.sourceType(), out);
            out.writeBoolean(c.key());
        }
    }

    private static TableSchema readSchema(DataInputStream in) throws IOException {
        TableId table = new TableId(readString(in), readString(in));
        int n = in.readUnsignedShort();
        List<Column> columns = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String name = readString(in);
            LogicalType type = TYPES[in.readUnsignedByte()];
            byte element = in.readByte();
            String sourceType = readString(in);
            boolean key = in.readBoolean();
            columns.add(new Column(name, type, element < 0 ? null : TYPES[element], sourceType, key));
        }
        return new TableSchema(table, columns);
    }

    private static void writeRow(Row row, DataOutputStream out) throws IOException {
        if (row == null) {
            out.writeShort(-1);
            return;
        }
        out.writeShort(row.size());
        for (int i = 0; i < row.size(); i++) {
            writeValue(row.get(i), out);
        }
    }

    private static Row readRow(DataInputStream in) throws IOException {
        int n = in.readShort();
        if (n < 0) {
            return null;
        }
        Object[] values = new Object[n];
        for (int i = 0; i < n; i++) {
            values[i] = readValue(in);
        }
        return Row.wrap(values);
    }

    private static void writeValue(Object v, DataOutputStream out) throws IOException {
        if (v == null) {
            out.writeByte(0);
        } else if (v instanceof Boolean b) {
            out.writeByte(b ? 2 : 1);
        } else if (v instanceof Long l) {
            out.writeByte(3);
            out.writeLong(l);
        } else if (v instanceof Double d) {
            out.writeByte(4);
            out.writeDouble(d);
        } else if (v instanceof String s) {
            out.writeByte(5);
            writeString(s, out);
        } else if (v instanceof byte[] b) {
            out.writeByte(6);
            writeBytes(b, out);
        } else if (v instanceof List<?> list) {
            out.writeByte(7);
            out.writeInt(list.size());
            for (Object item : list) {
                writeValue(item, out);
            }
        } else {
            throw new IllegalArgumentException("a row value of " + v.getClass().getName()
                    + " is not one of Ferry's value representations (see LogicalType)");
        }
    }

    private static Object readValue(DataInputStream in) throws IOException {
        int tag = in.readUnsignedByte();
        return switch (tag) {
            case 0 -> null;
            case 1 -> Boolean.FALSE;
            case 2 -> Boolean.TRUE;
            case 3 -> in.readLong();
            case 4 -> in.readDouble();
            case 5 -> readString(in);
            case 6 -> readBytes(in);
            case 7 -> {
                int n = in.readInt();
                List<Object> list = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    list.add(readValue(in));
                }
                yield java.util.Collections.unmodifiableList(list);
            }
            default -> throw new IOException("unknown value tag " + tag);
        };
    }

    private static void writeString(String s, DataOutputStream out) throws IOException {
        writeBytes(s.getBytes(StandardCharsets.UTF_8), out);
    }

    private static String readString(DataInputStream in) throws IOException {
        return new String(readBytes(in), StandardCharsets.UTF_8);
    }

    private static void writeBytes(byte[] b, DataOutputStream out) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] readBytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            throw new IOException("negative length " + n);
        }
        return in.readNBytes(n);
    }
}
