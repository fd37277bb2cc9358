package dev.ferry.source;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Objects;

/**
 * A time window a batch run extracts ({@code ferry run --once --window yesterday}, or {@code --from}
 * and {@code --to}): the rows whose cursor lies in {@code [from, to)}, written to sink partitions
 * named by {@link #name()}. Re-running the same window replaces exactly that partition.
 *
 * @param from the first instant, in local time of {@code zone}
 * @param to   the instant after the last, in local time of {@code zone}
 * @param zone the time zone the bounds are in (for cursors that hold instants)
 */
public record Window(LocalDateTime from, LocalDateTime to, ZoneId zone) {
    public Window {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(zone, "zone");
        if (!from.isBefore(to)) {
            throw new IllegalArgumentException("a window's start " + from + " must be before its end " + to);
        }
    }

    /** The whole day {@code day}. */
    public static Window day(LocalDate day, ZoneId zone) {
        return new Window(day.atStartOfDay(), day.plusDays(1).atStartOfDay(), zone);
    }

    /**
     * The partition name: the date for a whole day ({@code 2026-11-30}), else both bounds
     * ({@code 2026-11-30T06-00_2026-11-30T12-00}); only characters every file system and object store
     * takes.
     */
    public String name() {
        if (from.toLocalTime().equals(java.time.LocalTime.MIDNIGHT) && to.equals(from.plusDays(1))) {
            return from.toLocalDate().toString();
        }
        DateTimeFormatter f = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH-mm-ss");
        return f.format(from) + "_" + f.format(to);
    }

    /** The end of the window as an instant. */
    public java.time.Instant end() {
        return to.atZone(zone).toInstant();
    }
}
