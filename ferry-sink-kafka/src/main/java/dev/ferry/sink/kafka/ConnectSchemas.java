package dev.ferry.sink.kafka;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.TableSchema;
import java.util.Map;

/**
 * Kafka Connect schemas (JsonConverter's JSON form) of one table's keys and envelopes, named as
 * Debezium names them: {@code <topic>.Key}, {@code <topic>.Value}, {@code <topic>.Envelope}. Each
 * logical type maps to the Connect type that holds Ferry's representation of it: exact decimals,
 * times and the text types are strings (with Debezium's semantic names where it has one), bytes are
 * Connect bytes (base64 in JSON), JSON columns are strings named {@code io.debezium.data.Json}.
 */
final class ConnectSchemas {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** The key schema and, once an event was seen, the value schema of one table, as JSON text. */
    record ForTable(String key, String value) {
        boolean hasValue() {
            return value != null;
        }
    }

    private ConnectSchemas() {
    }

    /**
     * The schemas of a table.
     *
     * @param sample an event of the table, whose position gives the fields of the {@code source}
     *               block; null to build the key schema only
     */
    static ForTable of(TableSchema schema, String topic, ChangeEvent sample) {
        ObjectNode key = struct(topic + ".Key", false);
        ArrayNode keyFields = key.putArray("fields");
        for (int i : schema.keyIndexes()) {
            keyFields.add(field(schema.column(i), false));
        }
        if (sample == null) {
            return new ForTable(key.toString(), null);
        }
        ObjectNode row = struct(topic + ".Value", true);
        ArrayNode rowFields = row.putArray("fields");
        for (Column c : schema.columns()) {
            rowFields.add(field(c, true));
        }
        ObjectNode envelope = struct(topic + ".Envelope", false);
        ArrayNode fields = envelope.putArray("fields");
        fields.add(scalar("string", false).put("field", "op"));
        fields.add(row.deepCopy().put("field", "before"));
        fields.add(row.deepCopy().put("field", "after"));
        ObjectNode unchanged = MAPPER.createObjectNode().put("type", "array").put("optional", true);
        unchanged.set("items", scalar("string", false));
        fields.add(unchanged.put("field", "unchanged"));
        fields.add(source(sample).put("field", "source"));
        fields.add(scalar("int64", true).put("field", "ts_ms"));
        return new ForTable(key.toString(), envelope.toString());
    }

    private static ObjectNode source(ChangeEvent sample) {
        ObjectNode source = struct("dev.ferry.Source", false);
        ArrayNode fields = source.putArray("fields");
        for (String name : new String[] {"connector", "name", "db", "schema", "table"}) {
            fields.add(scalar("string", false).put("field", name));
        }
        for (Map.Entry<String, Object> f : sample.position().envelopeFields().entrySet()) {
            Object v = f.getValue();
            String type = v instanceof Long ? "int64" : v instanceof Integer ? "int32" : v instanceof Boolean ? "boolean" : "string";
            fields.add(scalar(type, true).put("field", f.getKey()));
        }
        fields.add(scalar("int64", true).put("field", "txId"));
        fields.add(scalar("int64", false).put("field", "ts_ms"));
        fields.add(scalar("boolean", true).put("field", "snapshot"));
        return source;
    }

    private static ObjectNode field(Column c, boolean optional) {
        ObjectNode f;
        if (c.type() == LogicalType.ARRAY) {
            f = MAPPER.createObjectNode().put("type", "array").put("optional", optional);
            f.set("items", type(c.elementType(), true));
        } else {
            f = type(c.type(), optional);
        }
        return f.put("field", c.name());
    }

    private static ObjectNode type(LogicalType t, boolean optional) {
        return switch (t) {
            case BOOLEAN -> scalar("boolean", optional);
            case INT16 -> scalar("int16", optional);
            case INT32 -> scalar("int32", optional);
            case INT64 -> scalar("int64", optional);
            case FLOAT32 -> scalar("float", optional);
            case FLOAT64 -> scalar("double", optional);
            case BYTES -> scalar("bytes", optional);
            case JSON -> named("io.debezium.data.Json", optional);
            case UUID -> named("io.debezium.data.Uuid", optional);
            case XML -> named("io.debezium.data.Xml", optional);
            case ENUM -> named("io.debezium.data.Enum", optional);
            case TIMESTAMPTZ -> named("io.debezium.time.ZonedTimestamp", optional);
            case TIMETZ -> named("io.debezium.time.ZonedTime", optional);
            case INTERVAL -> named("io.debezium.time.Interval", optional);
            // an array of arrays does not occur: PostgreSQL's multi-dimensional arrays are one type
            case ARRAY -> MAPPER.createObjectNode().put("type", "array").put("optional", optional)
                    .set("items", scalar("string", true));
            default -> scalar("string", optional);
        };
    }

    private static ObjectNode named(String name, boolean optional) {
        return scalar("string", optional).put("name", name).put("version", 1);
    }

    private static ObjectNode scalar(String type, boolean optional) {
        return MAPPER.createObjectNode().put("type", type).put("optional", optional);
    }

    private static ObjectNode struct(String name, boolean optional) {
        return MAPPER.createObjectNode().put("type", "struct").put("optional", optional).put("name", name);
    }
}
