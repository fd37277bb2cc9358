package dev.ferry.sink.kafka;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.EnvelopeWriter;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableSchema;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The bytes of one Kafka record: the key is the JSON of the row's key columns ({@code {"id":7}}, as
 * Debezium writes it), the value the event's envelope from {@link EnvelopeWriter}. In the
 * {@code connect_json} format both are wrapped as Kafka Connect's JsonConverter writes them with
 * schemas enabled: {@code {"schema":..., "payload":...}} (see {@link ConnectSchemas}).
 *
 * <p>Not thread-safe: one buffer is reused for every record.
 */
final class RecordEncoder {
    private static final int KEEP_BYTES = 1 << 20;

    private final EnvelopeWriter envelopes;
    private final boolean connectJson;
    private final JsonFactory json = JsonFactory.builder()
            .disable(com.fasterxml.jackson.core.StreamWriteFeature.AUTO_CLOSE_TARGET).build();
    private ByteArrayOutputStream buffer = new ByteArrayOutputStream(1024);
    /** The schemas of the last table written, for connect_json: events of a table share their TableSchema. */
    private TableSchema lastSchema;
    private ConnectSchemas.ForTable lastSchemas;

    RecordEncoder(EnvelopeWriter envelopes, boolean connectJson) {
        this.envelopes = envelopes;
        this.connectJson = connectJson;
    }

    /**
     * The record key of the event's row: the deleted row for a delete, else the new row; null for a
     * truncate, a table without key columns, or a row the source did not send.
     */
    byte[] key(ChangeEvent e, String topic) {
        Row row = e.op() == Op.DELETE ? e.before() : e.after();
        return key(e.schema(), row, topic);
    }

    /** The record key of one row of the table, or null when it has no key columns. */
    byte[] key(TableSchema schema, Row row, String topic) {
        int[] keys = schema.keyIndexes();
        if (row == null || keys.length == 0) {
            return null;
        }
        try (JsonGenerator g = generator()) {
            if (connectJson) {
                g.writeStartObject();
                g.writeFieldName("schema");
                g.writeRawValue(schemas(schema, topic, null).key());
                g.writeFieldName("payload");
            }
            g.writeStartObject();
            for (int i : keys) {
                Column c = schema.column(i);
                g.writeFieldName(c.name());
                EnvelopeWriter.writeValue(c.type(), c.elementType(), row.get(i), g);
            }
            g.writeEndObject();
            if (connectJson) {
                g.writeEndObject();
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return bytes();
    }

    /** The record value: the event's envelope. */
    byte[] value(ChangeEvent e, String topic, long writtenAtMillis) {
        try (JsonGenerator g = generator()) {
            if (connectJson) {
                g.writeStartObject();
                g.writeFieldName("schema");
                g.writeRawValue(schemas(e.schema(), topic, e).value());
                g.writeFieldName("payload");
            }
            envelopes.write(e, g, writtenAtMillis);
            if (connectJson) {
                g.writeEndObject();
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return bytes();
    }

    private ConnectSchemas.ForTable schemas(TableSchema schema, String topic, ChangeEvent sample) {
        if (schema != lastSchema || (sample != null && !lastSchemas.hasValue())) {
            lastSchemas = ConnectSchemas.of(schema, topic, sample);
            lastSchema = schema;
        }
        return lastSchemas;
    }

    private JsonGenerator generator() throws IOException {
        if (buffer.size() > KEEP_BYTES) {
            buffer = new ByteArrayOutputStream(1024); // one huge row must not pin its buffer
        }
        buffer.reset();
        return json.createGenerator(buffer);
    }

    private byte[] bytes() {
        return buffer.toByteArray();
    }
}
