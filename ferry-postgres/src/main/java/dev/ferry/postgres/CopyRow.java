package dev.ferry.postgres;

import dev.ferry.event.Column;
import dev.ferry.event.RowEncoder;
import java.nio.charset.StandardCharsets;

/**
 * One row of {@code COPY ... TO STDOUT} in text format, split into its fields and unescaped, so that
 * each field is exactly the value's text as a query's text-format result carries it (what the driver's
 * {@code getString} and {@code getBytes} return): the server writes each value with its output
 * function, then escapes it for COPY.
 *
 * <p>The format (PostgreSQL's "COPY, File Formats, Text Format"): fields are separated by a tab, the
 * row ends with a newline; {@code \N} alone is SQL NULL; in a value, a backslash escapes the next
 * character: {@code \b \f \n \r \t \v} are the control characters, {@code \digits} (1-3 octal digits)
 * and {@code \xhh} (1-2 hex digits) a byte, and any other character stands for itself (so {@code \\}
 * is a backslash). The server never writes a raw tab or newline inside a value, and in UTF-8 neither
 * they nor the backslash occur inside a multi-byte character, so the row can be split and unescaped
 * byte by byte. Unescaping only shortens a value, so it happens in place.
 *
 * <p>Not thread-safe; one per reader, reused for each row.
 */
final class CopyRow {
    private byte[] bytes = new byte[0];
    private int[] start = new int[0];
    /** Per field: its length once unescaped, or -1 for SQL NULL. */
    private int[] length = new int[0];

    /**
     * Takes {@code row} (one CopyData message of the copy: the row and its newline), and changes it in
     * place; its fields stay readable until the next call.
     *
     * @param columns the columns the copy's query selects: a row of none is an empty line, as is a
     *                row of one empty text, so only the query tells them apart
     * @throws IllegalStateException if the row does not have {@code columns} fields
     */
    void read(byte[] row, int columns) {
        bytes = row;
        if (start.length < columns) {
            start = new int[columns];
            length = new int[columns];
        }
        int end = row.length > 0 && row[row.length - 1] == '\n' ? row.length - 1 : row.length;
        if (columns == 0) {
            if (end != 0) {
                throw new IllegalStateException("a COPY row of a query with no columns has " + end + " bytes");
            }
            return;
        }
        int at = 0;
        for (int i = 0; i < columns; i++) {
            if (at > end) {
                throw new IllegalStateException("a COPY row has " + i + " fields, the query selects " + columns);
            }
            int stop = at;
            boolean escaped = false;
            byte c;
            while (stop < end && (c = row[stop]) != '\t') {
                escaped |= c == '\\';
                stop++;
            }
            start[i] = at;
            if (!escaped) {
                length[i] = stop - at; // most values: nothing to unescape
            } else {
                length[i] = stop - at == 2 && row[at + 1] == 'N' && row[at] == '\\' ? -1 : unescape(row, at, stop);
            }
            at = stop + 1;
        }
        if (at <= end) {
            throw new IllegalStateException("a COPY row has more fields than the " + columns + " its query selects");
        }
    }

    /**
     * Puts the row's values into {@code encoder}, one per column: the text of a column that
     * {@code asBytes} marks ({@link TextValues#takesBytes(Column)}) straight from the row's bytes, the
     * others converted from their text.
     */
    void putValues(Column[] columns, boolean[] asBytes, RowEncoder encoder) {
        for (int i = 0; i < columns.length; i++) {
            if (isNull(i)) {
                encoder.putNull();
            } else if (asBytes[i]) {
                TextValues.put(columns[i], bytes, start[i], length[i], encoder);
            } else {
                encoder.put(TextValues.convert(columns[i], string(i)));
            }
        }
    }

    /** Whether field {@code i} is SQL NULL. */
    boolean isNull(int i) {
        return length[i] < 0;
    }

    /** The bytes that hold every field of the row; field {@code i} is {@link #length} bytes from {@link #start}. */
    byte[] bytes() {
        return bytes;
    }

    int start(int i) {
        return start[i];
    }

    int length(int i) {
        return length[i];
    }

    /** Field {@code i} as text, or null for SQL NULL. */
    String string(int i) {
        return length[i] < 0 ? null : new String(bytes, start[i], length[i], StandardCharsets.UTF_8);
    }

    /** Unescapes {@code b[from, to)} in place, from {@code from}; returns its new length. */
    private static int unescape(byte[] b, int from, int to) {
        int w = from;
        for (int r = from; r < to; r++) {
            byte c = b[r];
            if (c != '\\' || r + 1 == to) {
                b[w++] = c;
                continue;
            }
            c = b[++r];
            switch (c) {
                case 'b' -> b[w++] = '\b';
                case 'f' -> b[w++] = '\f';
                case 'n' -> b[w++] = '\n';
                case 'r' -> b[w++] = '\r';
                case 't' -> b[w++] = '\t';
                case 'v' -> b[w++] = 0x0B;
                case 'x' -> {
                    int v = 0;
                    int digits = 0;
                    while (digits < 2 && r + 1 < to && Character.digit(b[r + 1], 16) >= 0) {
                        v = v * 16 + Character.digit(b[++r], 16);
                        digits++;
                    }
                    b[w++] = digits == 0 ? (byte) 'x' : (byte) v;
                }
                default -> {
                    if (c >= '0' && c <= '7') {
                        int v = c - '0';
                        for (int digits = 1; digits < 3 && r + 1 < to && b[r + 1] >= '0' && b[r + 1] <= '7'; digits++) {
                            v = v * 8 + (b[++r] - '0');
                        }
                        b[w++] = (byte) v;
                    } else {
                        b[w++] = c;
                    }
                }
            }
        }
        return w - from;
    }
}
