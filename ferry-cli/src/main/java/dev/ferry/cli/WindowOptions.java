package dev.ferry.cli;

import dev.ferry.error.FerryException;
import dev.ferry.source.Window;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * The window options of {@code ferry run}: {@code --window yesterday|today|DATE}, or {@code --from}
 * and {@code --to} (a date, or a date and time), in {@code --zone} (default: the machine's).
 */
final class WindowOptions {
    private WindowOptions() {
    }

    /** The window the options name; empty when none is given. */
    static Optional<Window> parse(String window, String from, String to, String zone, boolean once, Clock clock)
            throws FerryException {
        if (window == null && from == null && to == null) {
            return Optional.empty();
        }
        if (!once) {
            throw FerryException.config("--window, --from and --to extract one window as a batch: add --once.");
        }
        ZoneId z;
        try {
            z = zone == null ? ZoneId.systemDefault() : ZoneId.of(zone);
        } catch (DateTimeException e) {
            throw FerryException.config("--zone " + zone + " is not a time zone; write one such as UTC or Europe/Berlin.");
        }
        if (window != null) {
            if (from != null || to != null) {
                throw FerryException.config("Give either --window or --from and --to, not both.");
            }
            LocalDate today = LocalDate.now(clock.withZone(z));
            LocalDate day = switch (window.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "yesterday" -> today.minusDays(1);
                case "today" -> today;
                default -> date(window, "--window");
            };
            return Optional.of(Window.day(day, z));
        }
        if (from == null || to == null) {
            throw FerryException.config("--from and --to go together: give both (for example --from 2026-11-01 --to 2026-12-01).");
        }
        LocalDateTime f = time(from, "--from");
        LocalDateTime t = time(to, "--to");
        if (!f.isBefore(t)) {
            throw FerryException.config("--from " + from + " must be before --to " + to + " (the window is [from, to)).");
        }
        return Optional.of(new Window(f, t, z));
    }

    private static LocalDate date(String text, String option) throws FerryException {
        try {
            return LocalDate.parse(text.trim());
        } catch (DateTimeParseException e) {
            throw FerryException.config(option + " " + text + " is not yesterday, today or a date such as 2026-11-30.");
        }
    }

    private static LocalDateTime time(String text, String option) throws FerryException {
        String t = text.trim();
        try {
            return t.length() <= 10 ? LocalDate.parse(t).atStartOfDay() : LocalDateTime.parse(t.replace(' ', 'T'));
        } catch (DateTimeParseException e) {
            throw FerryException.config(option + " " + text + " is not a date (2026-11-30) or a date and time "
                    + "(2026-11-30T06:00).");
        }
    }
}
