package dev.ferry.jdbc;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

/**
 * Instants as the UTF-8 bytes of {@link Instant#toString()} ({@code 2026-01-01T00:00:01.250Z}), written
 * digit by digit: the JDK's formatter builds a {@code LocalDateTime} string and a {@code StringBuilder}
 * per value, the largest single cost of a timestamp column in a full extract.
 */
final class IsoInstants {
    private IsoInstants() {
    }

    /** The first second of year 0 and of year 10000: four-digit years lie between. */
    private static final long YEAR_0 = -62_167_219_200L;
    private static final long YEAR_10000 = 253_402_300_800L;

    /**
     * {@code Instant.ofEpochSecond(epochSecond, nano).toString()} as UTF-8, for years 0 to 9999; null
     * for others (the caller writes those, and PostgreSQL's infinity, the regular way).
     */
    static byte[] utf8(long epochSecond, int nano) {
        if (epochSecond < YEAR_0 || epochSecond >= YEAR_10000) {
            return null;
        }
        LocalDateTime t = LocalDateTime.ofEpochSecond(epochSecond, 0, ZoneOffset.UTC);
        int year = t.getYear();
        int fraction = nano == 0 ? 0 : nano % 1_000_000 == 0 ? 3 : nano % 1_000 == 0 ? 6 : 9;
        byte[] out = new byte[20 + (fraction == 0 ? 0 : 1 + fraction)];
        digits(out, 0, year, 4);
        out[4] = '-';
        digits(out, 5, t.getMonthValue(), 2);
        out[7] = '-';
        digits(out, 8, t.getDayOfMonth(), 2);
        out[10] = 'T';
        digits(out, 11, t.getHour(), 2);
        out[13] = ':';
        digits(out, 14, t.getMinute(), 2);
        out[16] = ':';
        digits(out, 17, t.getSecond(), 2);
        int at = 19;
        if (fraction > 0) {
            out[at++] = '.';
            digits(out, at, nano / pow10(9 - fraction), fraction);
            at += fraction;
        }
        out[at] = 'Z';
        return out;
    }

    /**
     * PostgreSQL's text of a {@code timestamptz} in a UTC session ({@code 2026-01-01 00:00:01.25+00}, DateStyle
     * ISO) as {@link Instant#toString()}'s UTF-8 ({@code 2026-01-01T00:00:01.250Z}); null for any other
     * shape (another offset, years past 9999, BC, infinity), which the caller reads the regular way.
     */
    static byte[] fromPostgresUtc(byte[] text) {
        int n = text.length;
        if (n < 22 || text[4] != '-' || text[7] != '-' || text[10] != ' ' || text[13] != ':' || text[16] != ':'
                || text[n - 3] != '+' || text[n - 2] != '0' || text[n - 1] != '0') {
            return null;
        }
        int digits = n - 3 - 19;
        if (digits != 0 && (text[19] != '.' || digits < 2 || digits > 7)) {
            return null;
        }
        int fraction = digits == 0 ? 0 : digits - 1 <= 3 ? 3 : 6;
        byte[] out = new byte[20 + (fraction == 0 ? 0 : 1 + fraction)];
        System.arraycopy(text, 0, out, 0, digits == 0 ? 19 : n - 3);
        out[10] = 'T';
        for (int i = digits == 0 ? 19 : n - 3; i < out.length - 1; i++) {
            out[i] = '0'; // PostgreSQL drops trailing zeros; Instant writes groups of three digits
        }
        out[out.length - 1] = 'Z';
        return out;
    }

    private static int pow10(int n) {
        int p = 1;
        for (int i = 0; i < n; i++) {
            p *= 10;
        }
        return p;
    }

    /** Writes {@code value} as {@code width} decimal digits, zero-padded, at {@code at}. */
    private static void digits(byte[] out, int at, int value, int width) {
        for (int i = at + width - 1; i >= at; i--) {
            out[i] = (byte) ('0' + value % 10);
            value /= 10;
        }
    }
}
