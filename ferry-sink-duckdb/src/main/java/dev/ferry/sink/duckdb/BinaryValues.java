package dev.ferry.sink.duckdb;

import java.math.BigDecimal;
import java.time.DateTimeException;
import java.time.LocalDate;
import java.util.UUID;

/**
 * The binary form of decimals, dates, timestamps and UUIDs, for DuckDB's Appender to write without a
 * text cast: each method returns the value DuckDB stores, or {@link #NONE} / null when the text is
 * not the plain form it knows (PostgreSQL's {@code infinity}, years before 1 or after 9999, {@code NaN},
 * more digits than the column holds). Such a value then travels as text and DuckDB's cast decides,
 * as before: these methods only ever take the common case, never change a meaning. Pure.
 */
final class BinaryValues {
    /** Not a plain value: use the text path. Not a DuckDB timestamp or date either. */
    static final long NONE = Long.MIN_VALUE;
    private static final long MICROS_PER_SECOND = 1_000_000L;
    private static final long SECONDS_PER_DAY = 86_400L;

    private BinaryValues() {
    }

    /**
     * The exact decimal text as a BigDecimal of scale {@code scale} with at most {@code precision}
     * digits; null when it has more fraction digits than the scale (DuckDB's cast would round), more
     * digits than the precision, or is not a finite number.
     */
    static BigDecimal decimal(String text, int precision, int scale) {
        try {
            BigDecimal d = new BigDecimal(text).setScale(scale);
            return d.precision() <= precision ? d : null;
        } catch (ArithmeticException | NumberFormatException e) {
            return null;
        }
    }

    /** Days since 1970-01-01 of {@code yyyy-mm-dd} with a year from 1 to 9999; else {@link #NONE}. */
    static long epochDays(String text) {
        if (text.length() != 10) {
            return NONE;
        }
        return days(text);
    }

    /**
     * Microseconds since 1970-01-01T00:00Z of {@code yyyy-mm-ddThh:mm:ss[.ffffff]}, then, when
     * {@code zoned}, {@code Z} or an offset {@code ±hh[:mm[:ss]]} (for a timestamp without zone, the
     * wall time read as UTC, which is how DuckDB stores it); else {@link #NONE}.
     */
    static long epochMicros(String text, boolean zoned) {
        int n = text.length();
        if (n < 19 || text.charAt(10) != 'T' && text.charAt(10) != ' ' || text.charAt(13) != ':' || text.charAt(16) != ':') {
            return NONE;
        }
        long days = days(text);
        int hour = digits(text, 11, 2);
        int minute = digits(text, 14, 2);
        int second = digits(text, 17, 2);
        if (days == NONE || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
            return NONE;
        }
        int i = 19;
        long micros = 0;
        if (i < n && text.charAt(i) == '.') {
            int start = ++i;
            while (i < n && Character.isDigit(text.charAt(i))) {
                i++;
            }
            int count = i - start;
            if (count == 0 || count > 6) {
                return NONE;
            }
            micros = digits(text, start, count);
            for (int k = count; k < 6; k++) {
                micros *= 10;
            }
        }
        long offsetSeconds = 0;
        if (zoned) {
            if (i == n - 1 && text.charAt(i) == 'Z') {
                i++;
            } else if (i < n && (text.charAt(i) == '+' || text.charAt(i) == '-')) {
                offsetSeconds = offset(text, i);
                if (offsetSeconds == NONE) {
                    return NONE;
                }
                i = n;
            } else {
                return NONE;
            }
        }
        if (i != n) {
            return NONE;
        }
        long seconds = days * SECONDS_PER_DAY + hour * 3600L + minute * 60L + second - offsetSeconds;
        return seconds * MICROS_PER_SECOND + micros;
    }

    /** A UUID in its canonical 36-character form; null for any other text. */
    static UUID uuid(String text) {
        if (text.length() != 36 || text.charAt(8) != '-' || text.charAt(13) != '-' || text.charAt(18) != '-'
                || text.charAt(23) != '-') {
            return null;
        }
        try {
            return UUID.fromString(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The offset {@code ±hh[:mm[:ss]]} at {@code at} to the end, in seconds; {@link #NONE} when malformed. */
    private static long offset(String text, int at) {
        int sign = text.charAt(at) == '-' ? -1 : 1;
        String rest = text.substring(at + 1);
        int len = rest.length();
        if (len != 2 && len != 5 && len != 8 || len > 2 && rest.charAt(2) != ':' || len > 5 && rest.charAt(5) != ':') {
            return NONE;
        }
        int h = digits(rest, 0, 2);
        int m = len > 2 ? digits(rest, 3, 2) : 0;
        int s = len > 5 ? digits(rest, 6, 2) : 0;
        if (h < 0 || h > 15 || m < 0 || m > 59 || s < 0 || s > 59) {
            return NONE;
        }
        return sign * (h * 3600L + m * 60L + s);
    }

    /** The date {@code yyyy-mm-dd} at the start of {@code text} as days since the epoch; {@link #NONE} otherwise. */
    private static long days(String text) {
        if (text.charAt(4) != '-' || text.charAt(7) != '-') {
            return NONE;
        }
        int year = digits(text, 0, 4);
        int month = digits(text, 5, 2);
        int day = digits(text, 8, 2);
        if (year < 1 || month < 1 || day < 1) {
            return NONE;
        }
        try {
            return LocalDate.of(year, month, day).toEpochDay();
        } catch (DateTimeException e) {
            return NONE;
        }
    }

    /** The decimal number of {@code count} ASCII digits at {@code from}; -1 when one is not a digit. */
    private static int digits(String text, int from, int count) {
        int out = 0;
        for (int i = from; i < from + count; i++) {
            char ch = text.charAt(i);
            if (ch < '0' || ch > '9') {
                return -1;
            }
            out = out * 10 + (ch - '0');
        }
        return out;
    }
}
