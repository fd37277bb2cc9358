package dev.ferry.postgres;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
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
