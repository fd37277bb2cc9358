package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.error.FerryException;
import dev.ferry.source.Window;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class WindowOptionsTest {
    /** 2026-12-01 01:30 UTC: still 2026-11-30 in New York. */
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-01T01:30:00Z"), ZoneOffset.UTC);

    @Test
    void yesterdayIsTheDayBeforeTodayInTheZone() throws Exception {
        assertThat(WindowOptions.parse("yesterday", null, null, "UTC", true, CLOCK).orElseThrow().name()).isEqualTo("2026-11-30");
        Window ny = WindowOptions.parse("yesterday", null, null, "America/New_York", true, CLOCK).orElseThrow();
        assertThat(ny.name()).isEqualTo("2026-11-29");
        assertThat(ny.zone()).isEqualTo(ZoneId.of("America/New_York"));
    }

    @Test
    void fromAndToTakeDatesOrTimes() throws Exception {
        Window w = WindowOptions.parse(null, "2026-11-30T06:00", "2026-11-30 12:00", "UTC", true, CLOCK).orElseThrow();
        assertThat(w.from()).isEqualTo(LocalDateTime.parse("2026-11-30T06:00"));
        assertThat(w.name()).isEqualTo("2026-11-30T06-00-00_2026-11-30T12-00-00");
        assertThat(WindowOptions.parse(null, "2026-11-30", "2026-12-01", "UTC", true, CLOCK).orElseThrow().name())
                .isEqualTo("2026-11-30");
    }

    @Test
    void refusesAWindowWithoutOnceAndHalfARange() {
        assertThatThrownBy(() -> WindowOptions.parse("yesterday", null, null, null, false, CLOCK))
                .isInstanceOf(FerryException.class).hasMessageContaining("--once");
        assertThatThrownBy(() -> WindowOptions.parse(null, "2026-11-30", null, null, true, CLOCK))
                .hasMessageContaining("go together");
        assertThatThrownBy(() -> WindowOptions.parse(null, "2026-12-01", "2026-11-30", null, true, CLOCK))
                .hasMessageContaining("before");
        assertThatThrownBy(() -> WindowOptions.parse("last week", null, null, null, true, CLOCK))
                .hasMessageContaining("not yesterday");
    }
}
