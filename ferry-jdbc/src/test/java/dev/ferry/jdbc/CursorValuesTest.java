package dev.ferry.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import org.junit.jupiter.api.Test;

class CursorValuesTest {
    private static final TableSpec.Lookback TEN_MINUTES = new TableSpec.Lookback(Duration.ofMinutes(10), 0);

    @Test
    void movesTextTimestampsBackInTheFormTheyWereWritten() {
        assertThat(CursorValues.TEXT.minus("2026-11-30 10:05:00", TEN_MINUTES)).isEqualTo("2026-11-30 09:55:00");
        assertThat(CursorValues.TEXT.minus("2026-11-30T00:05:00.25", TEN_MINUTES)).isEqualTo("2026-11-29T23:55:00.25");
        assertThat(CursorValues.TEXT.minus("not a time", TEN_MINUTES)).isNull();
    }

    @Test
    void movesNumbersByAnAmountAndTimestampsByADuration() {
        assertThat(CursorValues.INTEGER.minus(500L, new TableSpec.Lookback(null, 100))).isEqualTo(400L);
        assertThat(CursorValues.TIMESTAMP.minus(LocalDateTime.parse("2026-11-30T10:00"), TEN_MINUTES))
                .isEqualTo(LocalDateTime.parse("2026-11-30T09:50"));
    }

    @Test
    void encodesValuesThatDecodeToEqualOnes() {
        OffsetDateTime t = OffsetDateTime.parse("2026-11-30T10:00:00.123456Z");
        assertThat(CursorValues.decode(CursorValues.TIMESTAMPTZ.encode(t))).isEqualTo(t);
        // a MySQL/MariaDB TIMESTAMP is the same instant, in the same form
        assertThat(CursorValues.decode(CursorValues.UTC_TIMESTAMP.encode(t))).isEqualTo(t);
        assertThat(CursorValues.UTC_TIMESTAMP.logical(t)).isEqualTo("2026-11-30T10:00:00.123456Z");
        assertThat(CursorValues.UTC_TIMESTAMP.minus(t, TEN_MINUTES)).isEqualTo(OffsetDateTime.parse("2026-11-30T09:50:00.123456Z"));
        assertThat(CursorValues.decode(CursorValues.INTEGER.encode(42L))).isEqualTo(42L);
        assertThat(CursorValues.decode(CursorValues.TEXT.encode("a:b"))).isEqualTo("a:b");
    }
}
