package dev.ferry.sink.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.LogicalType;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class CopyTextTest {
    private static String field(LogicalType type, LogicalType element, Object v) {
        StringBuilder b = new StringBuilder();
        CopyText.appendField(b, type, element, v);
        return b.toString();
    }

    @Test
    void escapesCopyControlCharactersAndWritesNullAsBackslashN() {
        assertThat(field(LogicalType.STRING, null, "a\tb\nc\\d\re")).isEqualTo("a\\tb\\nc\\\\d\\re");
        assertThat(field(LogicalType.STRING, null, null)).isEqualTo("\\N");
        assertThat(field(LogicalType.STRING, null, "\\N")).isEqualTo("\\\\N");
    }

    @Test
    void rendersScalarsAsTheirInputText() {
        assertThat(field(LogicalType.BOOLEAN, null, true)).isEqualTo("t");
        assertThat(field(LogicalType.INT64, null, Long.MIN_VALUE)).isEqualTo("-9223372036854775808");
        assertThat(field(LogicalType.FLOAT64, null, Double.NaN)).isEqualTo("NaN");
        assertThat(field(LogicalType.FLOAT64, null, Double.NEGATIVE_INFINITY)).isEqualTo("-Infinity");
        assertThat(field(LogicalType.FLOAT32, null, (double) 3.4028235e38f)).isEqualTo("3.4028235E38");
        assertThat(field(LogicalType.BYTES, null, new byte[] {0, (byte) 0xff})).isEqualTo("\\\\x00ff");
    }

    @Test
    void turnsIsoYearsAtOrBelowZeroIntoYearsBeforeChrist() {
        assertThat(CopyText.dateTime("-0043-03-15")).isEqualTo("0044-03-15 BC");
        assertThat(CopyText.dateTime("0000-12-31T23:59:59.5")).isEqualTo("0001-12-31 23:59:59.5 BC");
        assertThat(CopyText.dateTime("-0043-03-15T12:00:00Z")).isEqualTo("0044-03-15 12:00:00+00 BC");
        assertThat(CopyText.dateTime("+294276-12-31T23:59:59.999999")).isEqualTo("294276-12-31T23:59:59.999999");
        assertThat(CopyText.dateTime("-infinity")).isEqualTo("-infinity");
        assertThat(CopyText.dateTime("2024-02-29T12:00:00.5Z")).isEqualTo("2024-02-29T12:00:00.5Z");
    }

    @Test
    void quotesEveryArrayElementAndNestsDimensions() {
        List<Object> texts = Arrays.asList("x,y", null, "NULL", "", "a\"b", "c\\d", "{}");
        assertThat(CopyText.inputText(LogicalType.ARRAY, LogicalType.STRING, texts))
                .isEqualTo("{\"x,y\",NULL,\"NULL\",\"\",\"a\\\"b\",\"c\\\\d\",\"{}\"}");
        assertThat(CopyText.inputText(LogicalType.ARRAY, LogicalType.INT32, List.of(List.of(1L, 2L), Arrays.asList(3L, null))))
                .isEqualTo("{{\"1\",\"2\"},{\"3\",NULL}}");
        assertThat(field(LogicalType.ARRAY, LogicalType.BYTES, List.of(new byte[] {1})))
                .isEqualTo("{\"\\\\\\\\x01\"}");
    }

    @Test
    void widensAlongNumericFamiliesAndRefusesOtherTypeChanges() {
        assertThat(TargetTypes.fit("integer", "bigint")).isEqualTo(TargetTypes.Fit.WIDEN);
        assertThat(TargetTypes.fit("bigint", "integer")).isEqualTo(TargetTypes.Fit.FITS);
        assertThat(TargetTypes.fit("numeric(12,2)", "numeric")).isEqualTo(TargetTypes.Fit.FITS);
        assertThat(TargetTypes.fit("character varying(5)", "text")).isEqualTo(TargetTypes.Fit.FITS);
        assertThat(TargetTypes.fit("integer[]", "bigint[]")).isEqualTo(TargetTypes.Fit.WIDEN);
        assertThat(TargetTypes.fit("timestamp(3) with time zone", "timestamp with time zone")).isEqualTo(TargetTypes.Fit.FITS);
        assertThat(TargetTypes.fit("integer", "text")).isEqualTo(TargetTypes.Fit.INCOMPATIBLE);
        assertThat(TargetTypes.fit("text", "integer[]")).isEqualTo(TargetTypes.Fit.INCOMPATIBLE);
    }
}
