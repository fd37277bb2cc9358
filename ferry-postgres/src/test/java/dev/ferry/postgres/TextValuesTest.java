package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Row;
import dev.ferry.event.RowEncoder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * PostgreSQL text output under Ferry's session settings (DateStyle=ISO, TimeZone=UTC,
 * IntervalStyle=iso_8601, extra_float_digits=3, bytea_output=hex) becomes the one representation
 * per logical type that ARCHITECTURE.md prescribes. The inputs are what the server prints.
 */
class TextValuesTest {
    private static Column array(LogicalType element) {
        return new Column("a", LogicalType.ARRAY, element, "x[]", false);
    }

    @Test
    void nullTextIsNullForEveryType() {
        assertThat(TextValues.convert(Column.of("c", LogicalType.INT64, "bigint", false), null)).isNull();
        assertThat(TextValues.convert(array(LogicalType.INT64), null)).isNull();
    }

    @ParameterizedTest
    @CsvSource({"t,true", "f,false", "true,true", "false,false"})
    void booleans(String text, boolean expected) {
        assertThat(TextValues.scalar(LogicalType.BOOLEAN, text)).isEqualTo(expected);
    }

    @Test
    void integersOfEveryWidthAreLongs() {
        assertThat(TextValues.scalar(LogicalType.INT16, "-32768")).isEqualTo(-32768L);
        assertThat(TextValues.scalar(LogicalType.INT32, "2147483647")).isEqualTo(2147483647L);
        assertThat(TextValues.scalar(LogicalType.INT64, "-9223372036854775808")).isEqualTo(Long.MIN_VALUE);
    }

    @Test
    void floatsIncludingNonFiniteValues() {
        assertThat(TextValues.scalar(LogicalType.FLOAT64, "0.30000000000000004")).isEqualTo(0.30000000000000004);
        assertThat(TextValues.scalar(LogicalType.FLOAT64, "1.7976931348623157e+308")).isEqualTo(Double.MAX_VALUE);
        assertThat(TextValues.scalar(LogicalType.FLOAT32, "3.4028235e+38")).isEqualTo(3.4028235e+38);
        assertThat(TextValues.scalar(LogicalType.FLOAT64, "NaN")).isEqualTo(Double.NaN);
        assertThat(TextValues.scalar(LogicalType.FLOAT64, "Infinity")).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(TextValues.scalar(LogicalType.FLOAT32, "-Infinity")).isEqualTo(Double.NEGATIVE_INFINITY);
    }

    @Test
    void numericStaysTheExactText() {
        assertThat(TextValues.scalar(LogicalType.DECIMAL, "12.50")).isEqualTo("12.50");
        assertThat(TextValues.scalar(LogicalType.DECIMAL, "123456789012345678901234567890.000000001"))
                .isEqualTo("123456789012345678901234567890.000000001");
        assertThat(TextValues.scalar(LogicalType.DECIMAL, "NaN")).isEqualTo("NaN");
        assertThat(TextValues.scalar(LogicalType.DECIMAL, "-Infinity")).isEqualTo("-Infinity");
    }

    @Test
    void byteaHexBecomesBytes() {
        assertThat((byte[]) TextValues.scalar(LogicalType.BYTES, "\\x0aff")).containsExactly(0x0a, 0xff);
        assertThat((byte[]) TextValues.scalar(LogicalType.BYTES, "\\x")).isEmpty();
    }

    @ParameterizedTest
    @CsvSource({
        "2026-11-24 12:34:56.123456+00, 2026-11-24T12:34:56.123456Z",
        "2026-11-24 12:34:56+00,        2026-11-24T12:34:56Z",
        "infinity,                      infinity",
        "-infinity,                     -infinity",
        "0044-03-15 12:00:00+00 BC,     -0043-03-15T12:00:00Z",
        "12026-01-01 00:00:00+00,       +12026-01-01T00:00:00Z",
    })
    void timestamptzInUtc(String text, String expected) {
        assertThat(TextValues.scalar(LogicalType.TIMESTAMPTZ, text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({
        "2026-11-24 12:34:56.5,    2026-11-24T12:34:56.5",
        "1999-12-31 23:59:59,      1999-12-31T23:59:59",
        "0001-01-01 00:00:00 BC,   0000-01-01T00:00:00",
        "294276-12-31 23:59:59,    +294276-12-31T23:59:59",
        "-infinity,                -infinity",
    })
    void timestampWithoutZoneHasNoOffset(String text, String expected) {
        assertThat(TextValues.scalar(LogicalType.TIMESTAMP, text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({
        "2026-11-24,    2026-11-24",
        "0044-03-15 BC, -0043-03-15",
        "0001-01-01 BC, 0000-01-01",
        "4714-11-24 BC, -4713-11-24",
        "0001-01-01,    0001-01-01",
        "10000-01-01,   +10000-01-01",
        "infinity,      infinity",
    })
    void datesUseIsoYears(String text, String expected) {
        assertThat(TextValues.scalar(LogicalType.DATE, text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({
        "12:34:56+02,        12:34:56+02:00",
        "12:34:56-07:30,     12:34:56-07:30",
        "12:34:56.789-07,    12:34:56.789-07:00",
        "00:00:00+00,        00:00:00Z",
    })
    void timetzOffsetsGainMinutes(String text, String expected) {
        assertThat(TextValues.scalar(LogicalType.TIMETZ, text)).isEqualTo(expected);
    }

    @Test
    void textLikeTypesPassThrough() {
        assertThat(TextValues.scalar(LogicalType.INTERVAL, "P1Y2M3DT4H5M6.789S")).isEqualTo("P1Y2M3DT4H5M6.789S");
        assertThat(TextValues.scalar(LogicalType.TIME, "12:34:56.5")).isEqualTo("12:34:56.5");
        assertThat(TextValues.scalar(LogicalType.BITS, "1010")).isEqualTo("1010");
        assertThat(TextValues.scalar(LogicalType.JSON, "{\"a\": [1, 2]}")).isEqualTo("{\"a\": [1, 2]}");
        assertThat(TextValues.scalar(LogicalType.UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))
                .isEqualTo("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    }

    @Test
    void int8ArrayWithNull() {
        assertThat(TextValues.convert(array(LogicalType.INT64), "{1,2,NULL}")).isEqualTo(Arrays.asList(1L, 2L, null));
    }

    @Test
    void textArrayWithQuotesEscapesCommasAndBraces() {
        String text = "{\"a b\",\"c,d\",\"e\\\"f\",NULL,\"NULL\",\"{x}\",\"back\\\\slash\",\"\",plain}";
        assertThat(TextValues.convert(array(LogicalType.STRING), text))
                .isEqualTo(Arrays.asList("a b", "c,d", "e\"f", null, "NULL", "{x}", "back\\slash", "", "plain"));
    }

    @Test
    void nestedArray() {
        assertThat(TextValues.convert(array(LogicalType.INT32), "{{1,2},{3,4}}"))
                .isEqualTo(List.of(List.of(1L, 2L), List.of(3L, 4L)));
        assertThat(TextValues.convert(array(LogicalType.STRING), "{{\"a,b\",NULL},{c,\"}\"}}"))
                .isEqualTo(List.of(Arrays.asList("a,b", null), List.of("c", "}")));
    }

    @Test
    void emptyArray() {
        assertThat(TextValues.convert(array(LogicalType.INT64), "{}")).isEqualTo(List.of());
    }

    @Test
    void arrayWithLowerBoundDecoration() {
        assertThat(TextValues.convert(array(LogicalType.INT64), "[0:1]={7,8}")).isEqualTo(List.of(7L, 8L));
    }

    @Test
    void arrayElementsConvertByElementType() {
        assertThat(TextValues.convert(array(LogicalType.TIMESTAMPTZ), "{\"2026-11-24 12:34:56+00\",infinity}"))
                .isEqualTo(List.of("2026-11-24T12:34:56Z", "infinity"));
        assertThat(TextValues.convert(array(LogicalType.FLOAT64), "{1.5,NaN,-Infinity}"))
                .isEqualTo(List.of(1.5, Double.NaN, Double.NEGATIVE_INFINITY));
        assertThat(TextValues.convert(array(LogicalType.BOOLEAN), "{t,f,NULL}")).isEqualTo(Arrays.asList(true, false, null));
        assertThat(TextValues.convert(array(LogicalType.DECIMAL), "{1.10,NaN}")).isEqualTo(List.of("1.10", "NaN"));
        @SuppressWarnings("unchecked")
        List<Object> bytes = (List<Object>) TextValues.convert(array(LogicalType.BYTES), "{\"\\\\x0aff\",NULL}");
        assertThat((byte[]) bytes.get(0)).containsExactly(0x0a, 0xff);
        assertThat(bytes.get(1)).isNull();
    }

    /** Server output of every type whose values are taken as bytes, including the forms the fast paths leave to convert. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "BOOLEAN|t", "BOOLEAN|f", "INT16|-32768", "INT32|0", "INT64|-9223372036854775808", "INT64|9223372036854775807",
        "INT64|123456789012345678", "INT64|-42", "DATE|2026-11-24", "DATE|0044-03-15 BC", "DATE|infinity",
        "DATE|12345-01-01", "TIMESTAMP|2026-11-24 12:34:56", "TIMESTAMP|2026-11-24 12:34:56.123456",
        "TIMESTAMP|0044-03-15 12:00:00 BC", "TIMESTAMP|-infinity", "TIMESTAMP|275760-09-13 00:00:00",
        "TIMESTAMPTZ|2026-11-24 12:34:56.5+00", "TIMESTAMPTZ|2026-11-24 12:34:56+00", "TIMESTAMPTZ|infinity",
        "TIMESTAMPTZ|2026-11-24 12:34:56+05:30", "TIMESTAMPTZ|0044-03-15 12:00:00+00 BC",
        "TIMESTAMPTZ|12345-01-01 00:00:00+00", "TIMETZ|12:34:56+00", "TIMETZ|12:34:56.789-05",
        "STRING|", "STRING|plain", "STRING|Grüße 日本 🚢", "JSON|{\"a\": [1, 2]}", "DECIMAL|-12345.678900",
        "DECIMAL|NaN", "UUID|a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "INTERVAL|P1Y2M3DT4H5M6.5S", "ENUM|shipped"})
    void bytesGiveWhatTheTextGives(LogicalType type, String text) {
        Column column = Column.of("c", type, "t", false);
        String value = text == null ? "" : text;
        byte[] bytes = value.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] before = bytes.clone();
        assertThat(TextValues.takesBytes(column)).isTrue();

        RowEncoder fast = new RowEncoder();
        TextValues.put(column, bytes, 0, bytes.length, fast);
        RowEncoder slow = new RowEncoder();
        slow.put(TextValues.convert(column, value));

        Row expected = slow.finish();
        assertThat(fast.finish()).isEqualTo(expected);
        assertThat(bytes).as("the driver's array is left as it was").isEqualTo(before);

        // the stream's way: the value's bytes in the middle of its tuple's
        byte[] tuple = ("-+" + value + "9 ").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] tupleBefore = tuple.clone();
        RowEncoder within = new RowEncoder();
        TextValues.put(column, tuple, 2, bytes.length, within);
        assertThat(within.finish()).isEqualTo(expected);
        assertThat(tuple).as("the tuple's bytes are left as they were").isEqualTo(tupleBefore);
    }

    @Test
    void arraysBytesAndFloatsAreReadAsText() {
        assertThat(TextValues.takesBytes(array(LogicalType.INT64))).isFalse();
        assertThat(TextValues.takesBytes(Column.of("c", LogicalType.BYTES, "bytea", false))).isFalse();
        assertThat(TextValues.takesBytes(Column.of("c", LogicalType.FLOAT64, "double precision", false))).isFalse();
    }

    @Test
    void anIntegerThatIsNotOneFailsWithItsText() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> TextValues.put(Column.of("c", LogicalType.INT64,
                "bigint", false), "12a".getBytes(java.nio.charset.StandardCharsets.UTF_8), 0, 3, new RowEncoder()))
                .isInstanceOf(NumberFormatException.class).hasMessageContaining("12a");
    }
}
