package dev.ferry.event;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.UTF8JsonGenerator;
import dev.ferry.source.SourceInfo;
import java.io.IOException;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@link ChangeEvent} as the Debezium-style JSON envelope of ARCHITECTURE.md, streaming
 * through Jackson (no intermediate tree). Not thread-safe only in the sense that the generator is
 * the caller's; the writer itself holds no mutable state.
 */
public final class EnvelopeWriter {
    private final SourceInfo source;
    private final boolean jsonAsText;

    public EnvelopeWriter(SourceInfo source) {
        this(source, false);
    }

    private EnvelopeWriter(SourceInfo source, boolean jsonAsText) {
        this.source = source;
        this.jsonAsText = jsonAsText;
    }

    /**
     * The same writer, but JSON column values are written as strings holding the JSON text, as
     * Debezium writes {@code io.debezium.data.Json}: Kafka Connect's schemas have no type for an
     * arbitrary JSON value, so a consumer that parses the envelope against a schema needs text.
     */
    public EnvelopeWriter withJsonAsText() {
        return new EnvelopeWriter(source, true);
    }

    /**
     * Writes one envelope object.
     *
     * @param writtenAtMillis the envelope's top-level {@code ts_ms}: when Ferry handled the event
     */
    public void write(ChangeEvent e, JsonGenerator g, long writtenAtMillis) throws IOException {
        g.writeStartObject();
        g.writeStringField("op", String.valueOf(e.op().code()));
        g.writeFieldName("before");
        // unchanged names slots of after only: the old row, when the source has one, is complete
        writeRow(e.schema(), e.before(), java.util.Set.of(), g, jsonAsText);
        g.writeFieldName("after");
        writeRow(e.schema(), e.after(), e.unchanged(), g, jsonAsText);
        if (!e.unchanged().isEmpty()) {
            g.writeArrayFieldStart("unchanged");
            for (Column c : e.schema().columns()) {
                if (e.unchanged().contains(c.name())) {
                    g.writeString(c.name());
                }
            }
            g.writeEndArray();
        }
        g.writeObjectFieldStart("source");
        g.writeStringField("connector", source.connector());
        g.writeStringField("name", source.name());
        g.writeStringField("db", source.database());
        g.writeStringField("schema", e.table().schema());
        g.writeStringField("table", e.table().name());
        for (Map.Entry<String, Object> f : e.position().envelopeFields().entrySet()) {
            g.writeFieldName(f.getKey());
            writeScalar(f.getValue(), g);
        }
        if (e.txId() != 0) {
            g.writeNumberField("txId", e.txId());
        }
        g.writeNumberField("ts_ms", e.committedAt().toEpochMilli());
        g.writeBooleanField("snapshot", e.position().snapshot());
        g.writeEndObject();
        g.writeNumberField("ts_ms", writtenAtMillis);
        g.writeEndObject();
    }

    private static void writeRow(TableSchema schema, Row row, java.util.Set<String> unchanged, JsonGenerator g,
                                 boolean jsonAsText) throws IOException {
        if (row == null) {
            g.writeNull();
            return;
        }
        if (!row.decoded() && g instanceof UTF8JsonGenerator) {
            writeEncodedRow(schema, row, unchanged, g, jsonAsText);
            return;
        }
        g.writeStartObject();
        for (int i = 0; i < schema.size(); i++) {
            Column c = schema.column(i);
            if (!unchanged.isEmpty() && unchanged.contains(c.name())) {
                continue; // the source did not send it: never write a placeholder
            }
            g.writeFieldName(c.name());
            writeValue(c.type(), c.elementType(), row.get(i), g, jsonAsText);
        }
        g.writeEndObject();
    }

    /**
     * {@link #writeRow} of a row still in the Log's encoding (one read from the Log, not yet looked
     * at), straight from its bytes: a text value in ASCII goes from the row's bytes to the output
     * with Jackson's escaping and no {@code String} between; other values are decoded one at a time.
     * The output is the same as from the decoded row's (only ASCII takes the short way: a
     * {@code String} turns malformed UTF-8 into U+FFFD, raw bytes would not).
     */
    private static void writeEncodedRow(TableSchema schema, Row row, java.util.Set<String> unchanged, JsonGenerator g,
                                        boolean jsonAsText) throws IOException {
        byte[] bytes = row.encodedValues();
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes);
        g.writeStartObject();
        for (int i = 0; i < schema.size(); i++) {
            Column c = schema.column(i);
            if (i >= row.size()) {
                throw new IndexOutOfBoundsException("a row of " + row.size() + " values for " + schema.size() + " columns");
            }
            if (!unchanged.isEmpty() && unchanged.contains(c.name())) {
                RowEncoder.skipValue(in); // the source did not send it: never write a placeholder
                continue;
            }
            g.writeFieldName(c.name());
            int at = in.position();
            if (bytes[at] == RowEncoder.STRING && writtenAsText(c.type())) {
                in.position(at + 1);
                int n = RowEncoder.length(in);
                int from = in.position();
                if (ascii(bytes, from, n)) {
                    g.writeUTF8String(bytes, from, n);
                    in.position(from + n);
                    continue;
                }
                in.position(at);
            }
            writeValue(c.type(), c.elementType(), RowEncoder.readValue(in), g, jsonAsText);
        }
        g.writeEndObject();
    }

    /** The types {@link #writeValue} writes as a JSON string of the value's text. */
    private static boolean writtenAsText(LogicalType type) {
        return switch (type) {
            case BOOLEAN, INT16, INT32, INT64, FLOAT32, FLOAT64, BYTES, JSON, ARRAY -> false;
            default -> true;
        };
    }

    private static boolean ascii(byte[] b, int from, int n) {
        for (int i = from, end = from + n; i < end; i++) {
            if (b[i] < 0) {
                return false;
            }
        }
        return true;
    }

    /** Writes one value in the representation its logical type prescribes. */
    public static void writeValue(LogicalType type, LogicalType elementType, Object v, JsonGenerator g)
            throws IOException {
        writeValue(type, elementType, v, g, false);
    }

    private static void writeValue(LogicalType type, LogicalType elementType, Object v, JsonGenerator g,
                                   boolean jsonAsText) throws IOException {
        if (v == null) {
            g.writeNull();
            return;
        }
        switch (type) {
            case BOOLEAN -> g.writeBoolean((Boolean) v);
            case INT16, INT32, INT64 -> g.writeNumber((Long) v);
            case FLOAT32, FLOAT64 -> {
                double d = (Double) v;
                if (Double.isNaN(d)) {
                    g.writeString("NaN");
                } else if (Double.isInfinite(d)) {
                    g.writeString(d > 0 ? "Infinity" : "-Infinity");
                } else if (type == LogicalType.FLOAT32) {
                    g.writeNumber((float) d);
                } else {
                    g.writeNumber(d);
                }
            }
            case BYTES -> g.writeString(Base64.getEncoder().encodeToString((byte[]) v));
            case JSON -> {
                if (jsonAsText) {
                    g.writeString((String) v);
                    return;
                }
                // PostgreSQL's json keeps its input text, line breaks included. Valid JSON holds a raw
                // line break only as whitespace between tokens, and JSONL needs one envelope per line.
                String text = (String) v;
                g.writeRawValue(text.indexOf('\n') < 0 && text.indexOf('\r') < 0
                        ? text : text.replace('\n', ' ').replace('\r', ' '));
            }
            case ARRAY -> {
                g.writeStartArray();
                for (Object item : (List<?>) v) {
                    writeValue(elementType, null, item, g, jsonAsText);
                }
                g.writeEndArray();
            }
            default -> g.writeString((String) v);
        }
    }

    private static void writeScalar(Object v, JsonGenerator g) throws IOException {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof Long l) {
            g.writeNumber(l);
        } else if (v instanceof Integer i) {
            g.writeNumber(i);
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else {
            g.writeString(v.toString());
        }
    }
}
