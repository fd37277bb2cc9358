package dev.ferry.sink.duckdb;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** The binary forms of plain values, and the text path for everything else. */
class BinaryValuesTest {
    @Test
    void plainDecimalsTakeTheColumnsScaleAndSpecialOnesStayText() {
        assertThat(BinaryValues.decimal("12.50", 12, 2)).isEqualTo(new BigDecimal("12.50"));
        assertThat(BinaryValues.decimal("-7", 12, 2)).isEqualTo(new BigDecimal("-7.00"));
        assertThat(BinaryValues.decimal("0.5", 4, 2)).isEqualTo(new BigDecimal("0.50"));
        // DuckDB's cast decides these: rounding, overflow, NaN and infinities
        assertThat(BinaryValues.decimal("1.005", 12, 2)).isNull();
        assertThat(BinaryValues.decimal("123.45", 4, 2)).isNull();
        assertThat(BinaryValues.decimal("NaN", 12, 2)).isNull();
        assertThat(BinaryValues.decimal("Infinity", 12, 2)).isNull();
        assertThat(BinaryValues.decimal("-Infinity", 12, 2)).isNull();
    }

    @Test
    void plainTimestampsBecomeEpochMicros() {
        assertThat(BinaryValues.epochMicros("2026-11-24T12:34:56.123456Z", true))
                .isEqualTo(micros(Instant.parse("2026-11-24T12:34:56.123456Z")));
        assertThat(BinaryValues.epochMicros("2026-11-24T12:34:56Z", true)).isEqualTo(micros(Instant.parse("2026-11-24T12:34:56Z")));
        assertThat(BinaryValues.epochMicros("2026-11-24T12:34:56.5+05:30", true))
                .isEqualTo(micros(Instant.parse("2026-11-24T07:04:56.5Z")));
        assertThat(BinaryValues.epochMicros("1969-12-31T23:59:59.999999-01", true))
                .isEqualTo(micros(Instant.parse("1970-01-01T00:59:59.999999Z")));
        assertThat(BinaryValues.epochMicros("0001-01-01T00:00:00", false))
                .isEqualTo(micros(LocalDateTime.parse("0001-01-01T00:00:00").toInstant(ZoneOffset.UTC)));
        assertThat(BinaryValues.epochMicros("2024-02-29 23:59:59.01", false))
                .isEqualTo(micros(LocalDateTime.parse("2024-02-29T23:59:59.01").toInstant(ZoneOffset.UTC)));
    }

    @Test
    void specialTimestampsStayText() {
        for (String special : new String[] {"infinity", "-infinity", "0000-12-31T00:00:00Z", "-0044-03-15T00:00:00Z",
                "10000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-24T24:00:00Z",
                "2026-11-24T12:34:56.1234567Z", "2026-11-24T12:34:56", "2026-11-24T12:34:56+5", "2026-11-24T12:34:56.Z"}) {
            assertThat(BinaryValues.epochMicros(special, true)).as(special).isEqualTo(BinaryValues.NONE);
        }
        assertThat(BinaryValues.epochMicros("2026-11-24T12:34:56Z", false)).isEqualTo(BinaryValues.NONE);
    }

    @Test
    void plainDatesBecomeEpochDaysAndSpecialOnesStayText() {
        assertThat(BinaryValues.epochDays("2026-11-30")).isEqualTo(LocalDate.parse("2026-11-30").toEpochDay());
        assertThat(BinaryValues.epochDays("1900-01-01")).isEqualTo(LocalDate.parse("1900-01-01").toEpochDay());
        for (String special : new String[] {"infinity", "-infinity", "0000-01-01", "-0044-03-15", "+10000-01-01", "2026-13-01"}) {
            assertThat(BinaryValues.epochDays(special)).as(special).isEqualTo(BinaryValues.NONE);
        }
    }

    @Test
    void onlyCanonicalUuidsAreParsed() {
        assertThat(BinaryValues.uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")).hasToString("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
        assertThat(BinaryValues.uuid("1-2-3-4-5")).isNull();
        assertThat(BinaryValues.uuid("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}")).isNull();
    }

    private static long micros(Instant i) {
        return i.getEpochSecond() * 1_000_000 + i.getNano() / 1000;
    }
}
