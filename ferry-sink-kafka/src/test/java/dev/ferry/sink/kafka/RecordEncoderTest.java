package dev.ferry.sink.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.EnvelopeWriter;
import java.io.StringWriter;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.json.JsonConverter;
import org.junit.jupiter.api.Test;

/** Keys and values as bytes: Debezium's key JSON, the core envelope, and Kafka Connect's schema+payload form. */
class RecordEncoderTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String TOPIC = "shop.public.orders";

    @Test
    void keyIsTheJsonOfTheKeyColumnsAndValueIsTheCoreEnvelope() throws Exception {
        RecordEncoder encoder = new RecordEncoder(new EnvelopeWriter(TestEvents.SOURCE), false);
        ChangeEvent e = TestEvents.insert(5, 42);

        assertThat(new String(encoder.key(e, TOPIC))).isEqualTo("{\"id\":42}");
        StringWriter expected = new StringWriter();
        try (var g = new com.fasterxml.jackson.core.JsonFactory().createGenerator(expected)) {
            new EnvelopeWriter(TestEvents.SOURCE).write(e, g, 1000);
        }
        assertThat(MAPPER.readTree(encoder.value(e, TOPIC, 1000))).isEqualTo(MAPPER.readTree(expected.toString()));
    }

    @Test
    void envelopeParsesWithKafkaConnectsJsonConverterWithoutSchemas() {
        RecordEncoder encoder = new RecordEncoder(new EnvelopeWriter(TestEvents.SOURCE), false);
        JsonConverter values = new JsonConverter();
        values.configure(Map.of("schemas.enable", "false"), false);

        Object value = values.toConnectData(TOPIC, encoder.value(TestEvents.update(6, 3), TOPIC, 1000)).value();

        assertThat(value).isInstanceOf(Map.class);
        Map<?, ?> after = (Map<?, ?>) ((Map<?, ?>) value).get("after");
        assertThat(after.get("id")).isEqualTo(3L);
        assertThat(after.get("amount")).isEqualTo("6.50");
        assertThat(((Map<?, ?>) value).get("op")).isEqualTo("u");
    }

    @Test
    void deleteIsKeyedByTheOldRow() {
        RecordEncoder encoder = new RecordEncoder(new EnvelopeWriter(TestEvents.SOURCE), false);
        assertThat(new String(encoder.key(TestEvents.delete(9, 3), TOPIC))).isEqualTo("{\"id\":3}");
    }

    @Test
    void connectJsonParsesWithKafkaConnectsJsonConverter() throws Exception {
        RecordEncoder encoder = new RecordEncoder(new EnvelopeWriter(TestEvents.SOURCE).withJsonAsText(), true);
        ChangeEvent e = TestEvents.insert(5, 42);
        JsonConverter keys = converter(true);
        JsonConverter values = converter(false);

        SchemaAndValue key = keys.toConnectData(TOPIC, encoder.key(e, TOPIC));
        SchemaAndValue value = values.toConnectData(TOPIC, encoder.value(e, TOPIC, 1000));

        assertThat(key.schema().name()).isEqualTo(TOPIC + ".Key");
        assertThat(((Struct) key.value()).getInt64("id")).isEqualTo(42L);
        Struct envelope = (Struct) value.value();
        assertThat(value.schema().name()).isEqualTo(TOPIC + ".Envelope");
        assertThat(envelope.getString("op")).isEqualTo("c");
        assertThat(envelope.get("before")).isNull();
        Struct after = envelope.getStruct("after");
        assertThat(after.getInt64("id")).isEqualTo(42L);
        assertThat(after.getString("amount")).isEqualTo("5.50");
        assertThat(MAPPER.readTree(after.getString("doc"))).isEqualTo(MAPPER.readTree("{\"v\": 5}"));
        assertThat(after.getBytes("receipt")).containsExactly(1, 2, 5);
        assertThat(after.getArray("tags")).isEqualTo(List.of("a", "v5"));
        assertThat(after.getString("at")).isEqualTo("2026-11-30T12:00:00.123456Z");
        Struct source = envelope.getStruct("source");
        assertThat(source.getString("table")).isEqualTo("orders");
        assertThat(source.getInt64("lsn")).isEqualTo(5L);
        assertThat(source.getInt64("txId")).isEqualTo(7L);
        assertThat(envelope.getInt64("ts_ms")).isEqualTo(1000L);
    }

    @Test
    void connectJsonPayloadIsTheEnvelopeWithJsonColumnsAsText() throws Exception {
        RecordEncoder encoder = new RecordEncoder(new EnvelopeWriter(TestEvents.SOURCE).withJsonAsText(), true);
        JsonNode record = MAPPER.readTree(encoder.value(TestEvents.update(8, 1), TOPIC, 1000));

        assertThat(record.get("payload").get("op").asText()).isEqualTo("u");
        assertThat(record.get("payload").get("after").get("doc").isTextual()).isTrue();
        assertThat(record.get("payload").get("after").get("receipt").asText())
                .isEqualTo(Base64.getEncoder().encodeToString(new byte[] {1, 2, 8}));
        assertThat(record.get("schema").get("type").asText()).isEqualTo("struct");
    }

    private static JsonConverter converter(boolean isKey) {
        JsonConverter c = new JsonConverter();
        c.configure(Map.of("schemas.enable", "true"), isKey);
        return c;
    }
}
