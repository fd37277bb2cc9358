package dev.ferry.postgres;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.RowEncoder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;

/**
 * Converts PostgreSQL's text output of a value into Ferry's representation for its logical type
 * (see {@link LogicalType}). Both the snapshot and the stream read values as text, so a row looks
 * the same whichever path brought it.
 *
 * <p>Assumes the session settings {@link PostgresConnections} applies: DateStyle=ISO, TimeZone=UTC,
 * IntervalStyle=iso_8601, extra_float_digits=3, bytea_output=hex.
 */
final class TextValues {
    private TextValues() {
    }

    static Object convert(Column column, String text) {
        if (text == null) {
            return null;
        }
        if (column.type() == LogicalType.ARRAY) {
            return parseArray(text, column.elementType());
        }
        return scalar(column.type(), text);
    }

    /**
     * Whether {@link #put} takes the column's value as the raw bytes of its text ({@code getBytes}
     * of a text-format column); the others are read as a {@code String} and {@link #convert}ed.
     * bytea is not (the driver decodes its hex), nor are arrays and floats (rare, and parsed from a String anyway).
     */
    static boolean takesBytes(Column column) {
        return switch (column.type()) {
            case ARRAY, BYTES, FLOAT32, FLOAT64 -> false;
            default -> true;
        };
    }

    /** Per column, whether {@link #put} takes its value as bytes: COPY's text, which never decodes bytea. */
    static boolean[] takesBytes(Column[] columns) {
        boolean[] out = new boolean[columns.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = takesBytes(columns[i]);
        }
        return out;
    }

    /**
     * Puts the value whose text is the {@code n} UTF-8 bytes at {@code at} in {@code b} (which stay the
     * caller's, unchanged) into the row being built, exactly as
     * {@code encoder.put(convert(column, new String(b, at, n, UTF_8)))} would, without the intermediate
     * strings in the common cases: most values are their text unchanged, integers are parsed from the
     * digits, and timestamps in UTC get their ISO form in a copy. Only for columns that {@link #takesBytes}.
     */
    static void put(Column column, byte[] b, int at, int n, RowEncoder encoder) {
        switch (column.type()) {
            case BOOLEAN -> encoder.putBoolean(n > 0 && b[at] == 't');
            case INT16, INT32, INT64 -> encoder.putLong(parseLong(b, at, n));
            case DATE -> {
                if (n == 10 && b[at + 4] == '-') {
                    encoder.putUtf8(b, at, n);
                } else {
                    encoder.putString(isoDateTime(ascii(b, at, n), false));
                }
            }
            case TIMESTAMP -> {
                // 2026-11-24 12:34:56.5: four-digit years, not BC (those end in " BC")
                if (n >= 19 && b[at + 4] == '-' && b[at + 10] == ' ' && b[at + n - 1] != 'C') {
                    byte[] iso = java.util.Arrays.copyOfRange(b, at, at + n); // the bytes are not ours to change
                    iso[10] = 'T';
                    encoder.putUtf8(iso, 0, iso.length);
                } else {
                    encoder.putString(isoDateTime(ascii(b, at, n), false));
                }
            }
            case TIMESTAMPTZ -> {
                // 2026-11-24 12:34:56.5+00 (the session's TimeZone is UTC): ...T...Z
                int end = at + n;
                if (n >= 22 && b[at + 4] == '-' && b[at + 10] == ' ' && b[end - 3] == '+' && b[end - 2] == '0'
                        && b[end - 1] == '0') {
                    byte[] iso = java.util.Arrays.copyOfRange(b, at, end - 2); // the bytes are not ours to change
                    iso[10] = 'T';
                    iso[n - 3] = 'Z';
                    encoder.putUtf8(iso, 0, iso.length);
                } else {
                    encoder.putString(isoDateTime(ascii(b, at, n), true));
                }
            }
            case TIMETZ -> encoder.putString(isoOffset(ascii(b, at, n)));
            case ARRAY, BYTES, FLOAT32, FLOAT64 -> throw new IllegalArgumentException(
                    column.type() + " values are not taken as bytes");
            default -> encoder.putUtf8(b, at, n);
        }
    }

    /** The text of an integer; PostgreSQL's output never has a sign but '-', nor spaces. */
    private static long parseLong(byte[] b, int at, int n) {
        int i = at;
        int end = at + n;
        boolean negative = n > 0 && b[at] == '-';
        if (negative) {
            i++;
        }
        if (end - i == 0 || end - i > 18) {
            return Long.parseLong(ascii(b, at, n)); // may not fit while accumulating; rare
        }
        long v = 0;
        for (; i < end; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) {
                return Long.parseLong(ascii(b, at, n)); // throws NumberFormatException with the text
            }
            v = v * 10 + d;
        }
        return negative ? -v : v;
    }

    private static String ascii(byte[] b, int at, int n) {
        return new String(b, at, n, java.nio.charset.StandardCharsets.UTF_8);
    }

    static Object scalar(LogicalType type, String text) {
        return switch (type) {
            case BOOLEAN -> text.equals("t") || text.equals("true");
            case INT16, INT32, INT64 -> Long.parseLong(text);
            case FLOAT32, FLOAT64 -> switch (text) {
                case "NaN" -> Double.NaN;
                case "Infinity" -> Double.POSITIVE_INFINITY;
                case "-Infinity" -> Double.NEGATIVE_INFINITY;
                default -> Double.parseDouble(text);
            };
            case BYTES -> text.startsWith("\\x") ? HexFormat.of().parseHex(text, 2, text.length()) : text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            case DATE, TIMESTAMP -> isoDateTime(text, false);
            case TIMESTAMPTZ -> isoDateTime(text, true);
            case TIMETZ -> isoOffset(text);
            default -> text;
        };
    }

    /**
     * {@code 2026-11-24 12:34:56.5+00} becomes {@code 2026-11-24T12:34:56.5Z}; {@code 0044-03-15 BC}
     * becomes the ISO year {@code -0043-03-15}; {@code infinity} stays.
     */
    static String isoDateTime(String text, boolean withZone) {
        if (text.equals("infinity") || text.equals("-infinity")) {
            return text;
        }
        String t = text;
        boolean bc = t.endsWith(" BC");
        if (bc) {
            t = t.substring(0, t.length() - 3);
        }
        t = t.replace(' ', 'T');
        if (withZone) {
            t = isoOffset(t);
        }
        if (bc) {
            int dash = t.indexOf('-');
            long year = Long.parseLong(t.substring(0, dash));
            long iso = 1 - year; // 1 BC is ISO year 0
            String y = String.format("%04d", Math.abs(iso));
            t = (iso < 0 ? "-" : "") + y + t.substring(dash);
        } else if (t.indexOf('-') > 4) {
            t = "+" + t; // ISO-8601 writes years past 9999 with a sign
        }
        return t;
    }

    /** Turns a trailing {@code +00} into {@code Z} and {@code +05} into {@code +05:00}. */
    static String isoOffset(String t) {
        int tee = t.indexOf('T');
        int sign = Math.max(t.lastIndexOf('+'), t.lastIndexOf('-'));
        if (sign <= 0 || sign <= tee) {
            return t;
        }
        String offset = t.substring(sign);
        String base = t.substring(0, sign);
        if (offset.equals("+00") || offset.equals("+00:00") || offset.equals("-00")) {
            return base + "Z";
        }
        if (offset.length() == 3) {
            return base + offset + ":00";
        }
        return t;
    }

    /** Parses a (possibly multi-dimensional) array literal such as {@code {1,NULL,"a b"}}. */
    static List<Object> parseArray(String text, LogicalType elementType) {
        int start = text.indexOf('{');
        if (start < 0) {
            throw new IllegalArgumentException("not an array literal: " + text);
        }
        int[] at = {start};
        return parseLevel(text, at, elementType);
    }

    private static List<Object> parseLevel(String s, int[] at, LogicalType elementType) {
        List<Object> out = new ArrayList<>();
        at[0]++; // '{'
        if (s.charAt(at[0]) == '}') {
            at[0]++;
            return Collections.unmodifiableList(out);
        }
        while (true) {
            char c = s.charAt(at[0]);
            if (c == '{') {
                out.add(parseLevel(s, at, elementType));
            } else if (c == '"') {
                StringBuilder b = new StringBuilder();
                at[0]++;
                while (s.charAt(at[0]) != '"') {
                    if (s.charAt(at[0]) == '\\') {
                        at[0]++;
                    }
                    b.append(s.charAt(at[0]++));
                }
                at[0]++;
                out.add(scalar(elementType, b.toString()));
            } else {
                int end = at[0];
                while (s.charAt(end) != ',' && s.charAt(end) != '}') {
                    end++;
                }
                String item = s.substring(at[0], end).trim();
                out.add(item.equals("NULL") ? null : scalar(elementType, item));
                at[0] = end;
            }
            char sep = s.charAt(at[0]++);
            if (sep == '}') {
                return Collections.unmodifiableList(out);
            }
        }
    }
}
