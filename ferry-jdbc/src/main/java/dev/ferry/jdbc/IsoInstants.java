package dev.ferry.jdbc;

import java.nio.charset.StandardCharsets;
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

    /** {@code Instant.ofEpochSecond(epochSecond, nano).toString()} as UTF-8. */
    static byte[] utf8(long epochSecond, int nano) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(epochSecond, 0, ZoneOffset.UTC);
        int year = t.getYear();
        if (year < 0 || year > 9999) {
            return Instant.ofEpochSecond(epochSecond, nano).toString().getBytes(StandardCharsets.US_ASCII);
        }
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
