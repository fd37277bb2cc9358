package dev.ferry.mysql;

import com.github.shyiko.mysql.binlog.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

/**
 * Decodes the binlog's temporal cells straight into Ferry's text representations, exactly: the
 * library's own decoding goes through {@code java.util.Date} or epoch numbers, which lose zero dates
 * and dates before the Gregorian switch. Formats follow MySQL's storage documentation ("Date and Time
 * Data Type Representation", MySQL 5.6.4+ for the V2 forms). Zero dates, and dates with a zero month or
 * day, become null (docs/mysql.md). Pure functions of the bytes.
 */
final class TemporalCells {
    private TemporalCells() {
    }

    /** DATE: 3 bytes little-endian, day in 5 bits, month in 4, the year above. */
    static String date(ByteArrayInputStream in) throws IOException {
        int v = in.readInteger(3);
        return date(v >>> 9, (v >>> 5) & 15, v & 31);
    }

    /** DATETIME2: 5 bytes big-endian (sign, year*13+month, day, hour, minute, second), then the fraction. */
    static String datetime2(int fsp, ByteArrayInputStream in) throws IOException {
        long packed = bigEndian(in.read(5)) - 0x8000000000L;
        long ymd = packed >> 17;
        long hms = packed & ((1L << 17) - 1);
        long ym = ymd >> 5;
        String date = date((int) (ym / 13), (int) (ym % 13), (int) (ymd & 31));
        int micros = fraction(fsp, in);
        if (date == null) {
            return null;
        }
        return date + "T" + clock((int) (hms >> 12), (int) ((hms >> 6) & 63), (int) (hms & 63)) + fractionText(micros, fsp);
    }

    /** TIMESTAMP2: seconds since the epoch, 4 bytes big-endian, then the fraction; 0 is the zero timestamp. */
    static String timestamp2(int fsp, ByteArrayInputStream in) throws IOException {
        long seconds = bigEndian(in.read(4));
        int micros = fraction(fsp, in);
        return timestamp(seconds, micros, fsp);
    }

    /** TIME2: 3 bytes big-endian with an offset (sign, hour, minute, second), then a signed fraction. */
    static String time2(int fsp, ByteArrayInputStream in) throws IOException {
        long packed;
        switch (fsp) {
            case 1, 2 -> {
                long intpart = bigEndian(in.read(3)) - 0x800000L;
                int frac = in.read() & 0xFF;
                if (intpart < 0 && frac != 0) {
                    intpart++;
                    frac -= 0x100;
                }
                packed = (intpart << 24) + frac * 10_000L;
            }
            case 3, 4 -> {
                long intpart = bigEndian(in.read(3)) - 0x800000L;
                int frac = (int) bigEndian(in.read(2));
                if (intpart < 0 && frac != 0) {
                    intpart++;
                    frac -= 0x10000;
                }
                packed = (intpart << 24) + frac * 100L;
            }
            case 5, 6 -> packed = bigEndian(in.read(6)) - 0x800000000000L;
            default -> packed = (bigEndian(in.read(3)) - 0x800000L) << 24;
        }
        String sign = packed < 0 ? "-" : "";
        long abs = Math.abs(packed);
        long hms = abs >> 24;
        int micros = (int) (abs & 0xFFFFFF);
        return sign + clock((int) ((hms >> 12) & 0x3FF), (int) ((hms >> 6) & 63), (int) (hms & 63))
                + fractionText(micros, fsp);
    }

    /** DATETIME before 5.6.4: 8 bytes little-endian holding YYYYMMDDhhmmss as a decimal number. */
    static String datetime(ByteArrayInputStream in) throws IOException {
        long v = in.readLong(8);
        long d = v / 1_000_000;
        long t = v % 1_000_000;
        String date = date((int) (d / 10_000), (int) (d / 100 % 100), (int) (d % 100));
        return date == null ? null : date + "T" + clock((int) (t / 10_000), (int) (t / 100 % 100), (int) (t % 100));
    }

    /** TIMESTAMP before 5.6.4: seconds since the epoch, 4 bytes little-endian. */
    static String timestamp(ByteArrayInputStream in) throws IOException {
        return timestamp(in.readLong(4), 0, 0);
    }

    /** TIME before 5.6.4: 3 bytes little-endian holding ±hhmmss as a decimal number. */
    static String time(ByteArrayInputStream in) throws IOException {
        int v = in.readInteger(3);
        v = (v << 8) >> 8; // sign-extend 24 bits
        String sign = v < 0 ? "-" : "";
        int a = Math.abs(v);
        return sign + clock(a / 10_000, a / 100 % 100, a % 100);
    }

    /** YEAR: one byte, years since 1900; 0 is the zero year. */
    static long year(ByteArrayInputStream in) throws IOException {
        int v = in.readInteger(1);
        return v == 0 ? 0 : 1900 + v;
    }

    private static String timestamp(long seconds, int micros, int fsp) {
        if (seconds == 0 && micros == 0) {
            return null;
        }
        LocalDateTime t = LocalDateTime.ofEpochSecond(seconds, 0, ZoneOffset.UTC);
        return String.format("%04d-%02d-%02dT%s", t.getYear(), t.getMonthValue(), t.getDayOfMonth(),
                clock(t.getHour(), t.getMinute(), t.getSecond())) + fractionText(micros, fsp) + "Z";
    }

    private static String date(int year, int month, int day) {
        if (month == 0 || day == 0) {
            return null;
        }
        return String.format("%04d-%02d-%02d", year, month, day);
    }

    private static String clock(int hour, int minute, int second) {
        return String.format("%02d:%02d:%02d", hour, minute, second);
    }

    /** The fractional seconds of DATETIME2 and TIMESTAMP2, in microseconds. */
    private static int fraction(int fsp, ByteArrayInputStream in) throws IOException {
        int length = (fsp + 1) / 2;
        if (length == 0) {
            return 0;
        }
        int f = (int) bigEndian(in.read(length));
        return f * (int) Math.pow(100, 3 - length);
    }

    /** {@code .123} for fsp 3: as many digits as the column declares, as MySQL prints them. */
    static String fractionText(int micros, int fsp) {
        if (fsp <= 0) {
            return "";
        }
        return "." + String.format("%06d", micros).substring(0, Math.min(6, fsp));
    }

    private static long bigEndian(byte[] bytes) {
        long v = 0;
        for (byte b : bytes) {
            v = (v << 8) | (b & 0xFF);
        }
        return v;
    }
}
