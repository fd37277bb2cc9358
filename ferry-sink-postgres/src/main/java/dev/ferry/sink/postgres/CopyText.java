package dev.ferry.sink.postgres;

import dev.ferry.event.LogicalType;
import java.util.HexFormat;
import java.util.List;

/**
 * Renders values in the representation of {@link LogicalType} as fields of PostgreSQL's COPY text
 * format: the text each type's input function reads, then COPY's backslash escapes. Every value of
 * Ferry's representation is accepted by the type {@link TargetTypes} maps it to; only what the server
 * itself cannot hold (a NUL character, {@code Infinity} in a numeric before PostgreSQL 14) fails there.
 *
 * <p>COPY text: fields separated by a tab, rows ended by a newline, {@code \N} for NULL, and a
 * backslash before backslash, newline, carriage return and tab (PostgreSQL documentation, COPY,
 * "Text Format"). Array elements are always double-quoted, with backslash and quote escaped inside
 * (documentation, "Array Value Input"), so no element text can be misread as NULL or a delimiter.
 */
final class CopyText {
    static final String NULL = "\\N";

    private CopyText() {
    }

    /** Appends one field, escaped: {@code \N} for null, else the value's input text. */
    static void appendField(StringBuilder out, LogicalType type, LogicalType elementType, Object value) {
        if (value == null) {
            out.append(NULL);
            return;
        }
        escape(out, inputText(type, elementType, value));
    }

    /** The text the target type's input function reads for a value in Ferry's representation. */
    static String inputText(LogicalType type, LogicalType elementType, Object value) {
        return switch (type) {
            case BOOLEAN -> (Boolean) value ? "t" : "f";
            case INT16, INT32, INT64 -> Long.toString((Long) value);
            // Java's shortest round-trip forms; NaN, Infinity and -Infinity are PostgreSQL's words too
            case FLOAT32 -> Float.toString((float) (double) (Double) value);
            case FLOAT64 -> Double.toString((Double) value);
            case BYTES -> "\\x" + HexFormat.of().formatHex((byte[]) value);
            case DATE, TIMESTAMP, TIMESTAMPTZ -> dateTime((String) value);
            case ARRAY -> {
                StringBuilder b = new StringBuilder();
                appendArray(b, elementType, (List<?>) value);
                yield b.toString();
            }
            default -> (String) value;
        };
    }

    /**
     * An ISO-8601 date or timestamp in a form PostgreSQL reads: years up to 0 become years BC
     * (ISO year 0 is 1 BC, -43 is 44 BC), the sign of years past 9999 goes; infinity stays.
     */
    static String dateTime(String iso) {
        if (iso.isEmpty()) {
            return iso;
        }
        char first = iso.charAt(0);
        if (first == '+') {
            return iso.substring(1);
        }
        boolean negative = first == '-' && !iso.startsWith("-infinity");
        if (!negative && !iso.startsWith("0000-")) {
            return iso;
        }
        int dash = iso.indexOf('-', 1);
        long isoYear = Long.parseLong(iso.substring(0, dash));
        String rest = iso.substring(dash).replace('T', ' ');
        if (rest.endsWith("Z")) {
            rest = rest.substring(0, rest.length() - 1) + "+00";
        }
        return String.format("%04d", 1 - isoYear) + rest + " BC";
    }

    private static void appendArray(StringBuilder b, LogicalType elementType, List<?> items) {
        b.append('{');
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) {
                b.append(',');
            }
            Object item = items.get(i);
            if (item == null) {
                b.append("NULL");
            } else if (item instanceof List<?> inner) {
                appendArray(b, elementType, inner);
            } else {
                String text = inputText(elementType, null, item);
                b.append('"');
                for (int k = 0; k < text.length(); k++) {
                    char c = text.charAt(k);
                    if (c == '"' || c == '\\') {
                        b.append('\\');
                    }
                    b.append(c);
                }
                b.append('"');
            }
        }
        b.append('}');
    }

    private static void escape(StringBuilder out, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append(c);
            }
        }
    }
}
