package dev.ferry.event;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.source.Position;
import dev.ferry.source.SourceInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The JSON envelope, compared with golden files under {@code src/test/resources/envelopes/}. The
 * top-level {@code ts_ms} (when Ferry wrote the line) is checked separately and left out of the
 * comparison.
 */
class EnvelopeWriterTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonFactory JSON = new JsonFactory();
    private static final EnvelopeWriter WRITER = new EnvelopeWriter(new SourceInfo("postgresql", "shop", "shopdb"));
    private static final long WRITTEN_AT = 1_709_210_000_123L;
    private static final Instant COMMITTED = Instant.parse("2024-02-29T10:34:56.789123Z");

    /** One column per logical type, in the enum's order. */
    private static final TableSchema EVERY_TYPE = new TableSchema(new TableId("public", "every_type"), List.of(
            Column.of("c_boolean", LogicalType.BOOLEAN, "boolean", false),
            Column.of("c_int16", LogicalType.INT16, "smallint", false),
            Column.of("c_int32", LogicalType.INT32, "integer", false),
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("c_float32", LogicalType.FLOAT32, "real", false),
            Column.of("c_float64", LogicalType.FLOAT64, "double precision", false),
            Column.of("c_decimal", LogicalType.DECIMAL, "numeric(12,2)", false),
            Column.of("c_string", LogicalType.STRING, "text", false),
            Column.of("c_uuid", LogicalType.UUID, "uuid", false),
            Column.of("c_enum", LogicalType.ENUM, "order_status", false),
            Column.of("c_network", LogicalType.NETWORK, "cidr", false),
            Column.of("c_xml", LogicalType.XML, "xml", false),
            Column.of("c_bytes", LogicalType.BYTES, "bytea", false),
            Column.of("c_bits", LogicalType.BITS, "bit varying(8)", false),
            Column.of("c_json", LogicalType.JSON, "jsonb", false),
            Column.of("c_date", LogicalType.DATE, "date", false),
            Column.of("c_time", LogicalType.TIME, "time without time zone", false),
            Column.of("c_timetz", LogicalType.TIMETZ, "time with time zone", false),
            Column.of("c_timestamp", LogicalType.TIMESTAMP, "timestamp without time zone", false),
            Column.of("c_timestamptz", LogicalType.TIMESTAMPTZ, "timestamp with time zone", false),
            Column.of("c_interval", LogicalType.INTERVAL, "interval", false),
            new Column("c_array", LogicalType.ARRAY, LogicalType.INT64, "bigint[]", false)));

    /** A PostgreSQL-like position: the lsn as text and a sequence number. */
    private record PgLikePosition(String lsn, long sequence, boolean snapshot) implements Position {
        @Override
        public String display() {
            return lsn + " #" + sequence;
        }

        @Override
        public Map<String, Object> envelopeFields() {
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("lsn", lsn);
            fields.put("sequence", sequence);
            return fields;
        }

        @Override
        public int compareTo(Position o) {
            return Long.compare(sequence, ((PgLikePosition) o).sequence);
        }
    }

    private static Row everyValue(long id, double float64, String decimal) {
        return Row.wrap(true, -32768L, 2147483647L, id, 1.5, float64, decimal,
                "naïve ☕ \"quoted\"\nline 2", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "shipped", "192.168.0.0/16",
                "<a>1</a>", new byte[] {0, 1, 2, (byte) 0xfe, (byte) 0xff}, "1010",
                "{\"k\": [1, 2.5, null], \"s\": \"x\", \"n\": {}}", "2024-02-29", "23:59:59.999999", "12:00:00+02",
                "2024-02-29T12:34:56.789", "2024-02-29T10:34:56.789Z", "P1Y2M3DT4H5M6.5S",
                Arrays.asList(1L, null, 3L));
    }

    @Test
    void schemaCoversEveryLogicalType() {
        Set<LogicalType> covered = EnumSet.noneOf(LogicalType.class);
        EVERY_TYPE.columns().forEach(c -> covered.add(c.type()));
        assertThat(covered).as("add a column (and golden values) for each new LogicalType")
                .containsExactlyInAnyOrder(LogicalType.values());
    }

    @Test
    void insertWritesEveryTypeInItsJsonRepresentation() throws Exception {
        ChangeEvent insert = new ChangeEvent(Op.CREATE, EVERY_TYPE, null, everyValue(42, Double.NaN, "12.50"),
                Set.of(), new PgLikePosition("0/16B3748", 12, false), 771, COMMITTED);

        assertMatchesGolden(insert, "insert-every-type.json");
    }

    @Test
    void updateOmitsUnchangedColumnsFromAfterAndListsThem() throws Exception {
        Object[] after = new Object[EVERY_TYPE.size()];
        Row full = everyValue(42, Double.POSITIVE_INFINITY, "-0.001");
        for (int i = 0; i < after.length; i++) {
            after[i] = full.get(i);
        }
        // the source leaves unchanged (TOASTed) columns null in after
        after[EVERY_TYPE.indexOf("c_json")] = null;
        after[EVERY_TYPE.indexOf("c_bytes")] = null;
        ChangeEvent update = new ChangeEvent(Op.UPDATE, EVERY_TYPE, everyValue(42, -1.25, "NaN"), Row.wrap(after),
                Set.of("c_json", "c_bytes"), new PgLikePosition("0/16B37A0", 13, false), 772, COMMITTED);

        JsonNode envelope = assertMatchesGolden(update, "update-unchanged.json");

        assertThat(envelope.get("after").has("c_json")).isFalse();
        assertThat(envelope.get("after").has("c_bytes")).isFalse();
        assertThat(envelope.get("unchanged")).hasSize(2);
    }

    @Test
    void snapshotReadOmitsTxIdAndSaysSnapshot() throws Exception {
        Object[] nulls = new Object[EVERY_TYPE.size()];
        nulls[EVERY_TYPE.indexOf("id")] = 7L;
        ChangeEvent read = new ChangeEvent(Op.READ, EVERY_TYPE, null, Row.wrap(nulls), null,
                new PgLikePosition("0/0", 0, true), 0, Instant.parse("2024-02-29T00:00:00Z"));

        assertMatchesGolden(read, "read-snapshot-nulls.json");
    }

    @Test
    void deleteAndTruncateCarryNullRows() throws Exception {
        Object[] key = new Object[EVERY_TYPE.size()];
        key[EVERY_TYPE.indexOf("id")] = 42L;
        ChangeEvent delete = new ChangeEvent(Op.DELETE, EVERY_TYPE, Row.wrap(key), null, null,
                new PgLikePosition("0/16B3800", 14, false), 773, COMMITTED);
        ChangeEvent truncate = new ChangeEvent(Op.TRUNCATE, EVERY_TYPE, null, null, null,
                new PgLikePosition("0/16B3900", 15, false), 774, COMMITTED);

        assertMatchesGolden(delete, "delete.json");
        assertMatchesGolden(truncate, "truncate.json");
    }

    @Test
    void writesOneCompactObjectPerCall() throws Exception {
        ChangeEvent insert = new ChangeEvent(Op.CREATE, EVERY_TYPE, null, everyValue(1, 0.5, "1"), Set.of(),
                new PgLikePosition("0/1", 1, false), 1, COMMITTED);

        String text = write(insert);

        assertThat(text).doesNotContain("\n").startsWith("{\"op\":\"c\",").endsWith("}");
        assertThat(fieldNames(MAPPER.readTree(text))).containsExactly("op", "before", "after", "source", "ts_ms");
    }

    @Test
    void floatSpecialsAreStrings() throws Exception {
        for (double d : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            StringWriter out = new StringWriter();
            try (JsonGenerator g = JSON.createGenerator(out)) {
                EnvelopeWriter.writeValue(LogicalType.FLOAT32, null, d, g);
            }
            assertThat(out.toString()).isIn("\"NaN\"", "\"Infinity\"", "\"-Infinity\"");
        }
    }

    @Test
    void jsonTextOverSeveralLinesIsWrittenOnOneLine() throws Exception {
        // PostgreSQL's json type keeps the text as written; a JSONL line must not break inside it
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            EnvelopeWriter.writeValue(LogicalType.JSON, null, "{\n  \"a\": [1,\r\n 2],\n  \"b\": \"x\\ny\"\n}\n", g);
        }

        assertThat(out.toString()).doesNotContain("\n").doesNotContain("\r");
        assertThat(MAPPER.readTree(out.toString())).isEqualTo(MAPPER.readTree("{\"a\": [1, 2], \"b\": \"x\\ny\"}"));
    }

    @Test
    void jsonAsTextWritesJsonColumnsAsStringsAndNothingElseDifferently() throws Exception {
        ChangeEvent insert = new ChangeEvent(Op.CREATE, EVERY_TYPE, null, everyValue(42, 1.5, "12.50"),
                Set.of(), new PgLikePosition("0/16B3748", 12, false), 771, COMMITTED);
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            WRITER.withJsonAsText().write(insert, g, WRITTEN_AT);
        }

        ObjectNode asText = (ObjectNode) MAPPER.readTree(out.toString());
        ObjectNode plain = (ObjectNode) MAPPER.readTree(write(insert));
        JsonNode json = asText.get("after").get("c_json");
        assertThat(json.isTextual()).isTrue();
        assertThat(MAPPER.readTree(json.asText())).isEqualTo(plain.get("after").get("c_json"));
        ((ObjectNode) asText.get("after")).remove("c_json");
        ((ObjectNode) plain.get("after")).remove("c_json");
        assertThat(asText).isEqualTo(plain);
    }

    @Test
    void rowsStillInTheLogsEncodingAreWrittenByteForByteAsDecodedOnes() throws Exception {
        int text = EVERY_TYPE.indexOf("c_string");
        for (String s : List.of("naïve ☕ \"quoted\"\nline 2", "tab\t \"q\" \\ \u0001 \u001f </script> \u007f", "",
                "plain ascii")) {
            Object[] values = new Object[EVERY_TYPE.size()];
            Row every = everyValue(7, Double.NEGATIVE_INFINITY, "NaN");
            for (int i = 0; i < values.length; i++) {
                values[i] = i == text ? s : every.get(i);
            }
            values[EVERY_TYPE.indexOf("c_json")] = null; // unchanged, in the update below
            Row decoded = Row.wrap(values);
            RowEncoder encoder = new RowEncoder();
            encoder.putAll(decoded);
            byte[] bytes = encoder.finish().encodedValues();
            for (EnvelopeWriter writer : List.of(WRITER, WRITER.withJsonAsText())) {
                for (Set<String> unchanged : List.of(Set.<String>of(), Set.of("c_json"))) {
                    java.util.function.Function<Row, ChangeEvent> update = row -> new ChangeEvent(Op.UPDATE, EVERY_TYPE,
                            row, row, unchanged, new PgLikePosition("0/1", 1, false), 9, COMMITTED);
                    Row lazy = RowEncoder.readRow(java.nio.ByteBuffer.wrap(bytes), EVERY_TYPE.size());
                    assertThat(new String(writeBytes(writer, update.apply(lazy)), java.nio.charset.StandardCharsets.UTF_8))
                            .isEqualTo(new String(writeBytes(writer, update.apply(decoded)), java.nio.charset.StandardCharsets.UTF_8));
                    assertThat(lazy.decoded()).as("written from its bytes: %s", s).isEqualTo(false);
                }
            }
        }
    }

    private static byte[] writeBytes(EnvelopeWriter writer, ChangeEvent e) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            writer.write(e, g, WRITTEN_AT);
        }
        return out.toByteArray();
    }

    private static String write(ChangeEvent e) throws IOException {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            WRITER.write(e, g, WRITTEN_AT);
        }
        return out.toString();
    }

    private static JsonNode assertMatchesGolden(ChangeEvent e, String golden) throws IOException {
        JsonNode actual = MAPPER.readTree(write(e));
        JsonNode expected;
        try (InputStream in = EnvelopeWriterTest.class.getResourceAsStream("/envelopes/" + golden)) {
            assertThat(in).as("golden file envelopes/" + golden).isNotNull();
            expected = MAPPER.readTree(in);
        }
        assertThat(actual.get("ts_ms").asLong()).isEqualTo(WRITTEN_AT);
        ((ObjectNode) actual).remove("ts_ms");
        ((ObjectNode) expected).remove("ts_ms");
        assertThat(actual)
                .withFailMessage("envelope differs from envelopes/%s%nexpected:%n%s%nactual:%n%s",
                        golden, expected.toPrettyString(), actual.toPrettyString())
                .isEqualTo(expected);
        return actual;
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            out.add(it.next());
        }
        return out;
    }
}
