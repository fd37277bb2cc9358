package dev.ferry.mysql;

import com.github.shyiko.mysql.binlog.event.deserialization.json.JsonBinary;
import dev.ferry.event.LogicalType;
import java.io.IOException;
import java.io.Serializable;
import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.BitSet;

/**
 * Converts MySQL values to Ferry's representations (see {@link LogicalType}), from the binlog and
 * from a snapshot query, so that both give the same value for the same row. The snapshot selects
 * each column through {@link #selectExpression}, which makes the server print temporal values and
 * bits the way the binlog decoding renders them.
 */
final class Values {
    private Values() {
    }

    /** The expression that reads a column in a snapshot query. */
    static String selectExpression(ColumnDef c) {
        String q = Connections.quote(c.name());
        return switch (c.dataType()) {
            case "date", "datetime", "timestamp", "time" -> "CAST(" + q + " AS CHAR)";
            case "year" -> "(" + q + " + 0)";
            // the server prints a FLOAT with 6 significant digits (1.2345678 as 1.23457); as a double it
            // prints the float's exact value, which the binlog has too
            case "float" -> "(" + q + " + 0e0)";
            case "bit" -> "LPAD(BIN(" + q + "), " + c.length() + ", '0')";
            default -> q;
        };
    }

    /** A column's value in the current row of a snapshot query built with {@link #selectExpression}. */
    static Object fromResult(ColumnDef c, ResultSet rs, int i) throws SQLException {
        LogicalType type = c.logicalType();
        Object value = switch (type) {
            case INT16, INT32, INT64 -> rs.getLong(i);
            case FLOAT32 -> (double) (float) rs.getDouble(i);
            case FLOAT64 -> rs.getDouble(i);
            case BYTES -> c.geometry() ? wkb(rs.getBytes(i)) : rs.getBytes(i);
            case DATE -> zeroDateAsNull(rs.getString(i));
            case TIMESTAMP -> isoLocal(rs.getString(i));
            case TIMESTAMPTZ -> {
                String local = isoLocal(rs.getString(i));
                yield local == null ? null : local + "Z";
            }
            default -> rs.getString(i); // DECIMAL, STRING, ENUM, SET, BITS, TIME, JSON: the server's exact text
        };
        return rs.wasNull() ? null : value;
    }

    /** A cell of a binlog rows event, as the library decoded it (see {@link ExactRows}). */
    static Object fromBinlog(ColumnDef c, Serializable v) throws IOException {
        if (v == null) {
            return null;
        }
        LogicalType type = c.logicalType();
        return switch (c.dataType()) {
            case "tinyint", "smallint", "mediumint", "int", "integer" -> {
                long n = ((Number) v).longValue();
                if (c.unsigned()) {
                    n &= switch (c.dataType()) {
                        case "tinyint" -> 0xFFL;
                        case "smallint" -> 0xFFFFL;
                        case "mediumint" -> 0xFFFFFFL;
                        default -> 0xFFFFFFFFL;
                    };
                }
                yield n;
            }
            case "bigint" -> c.unsigned() ? Long.toUnsignedString(((Number) v).longValue()) : ((Number) v).longValue();
            case "year" -> ((Number) v).longValue();
            case "float" -> (double) ((Number) v).floatValue();
            case "double", "real" -> ((Number) v).doubleValue();
            case "decimal", "numeric" -> ((BigDecimal) v).toPlainString();
            case "bit" -> bits((BitSet) v, c.length());
            case "enum" -> {
                int index = ((Number) v).intValue();
                // 0 is MySQL's error member, which it shows as ''
                yield index == 0 || index > c.values().size() ? "" : c.values().get(index - 1);
            }
            case "set" -> {
                long mask = ((Number) v).longValue();
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < c.values().size(); i++) {
                    if ((mask & (1L << i)) != 0) {
                        sb.append(sb.length() == 0 ? "" : ",").append(c.values().get(i));
                    }
                }
                yield sb.toString();
            }
            case "json" -> v instanceof byte[] b ? JsonBinary.parseAsString(b) : v.toString();
            default -> {
                if (v instanceof String s) {
                    yield s; // temporal text from TemporalCells
                }
                byte[] bytes = (byte[]) v;
                if (c.geometry()) {
                    yield wkb(bytes);
                }
                if (type == LogicalType.BYTES) {
                    // BINARY(n) is padded with zero bytes, which the binlog leaves out
                    yield c.dataType().equals("binary") && bytes.length < c.length()
                            ? Arrays.copyOf(bytes, c.length()) : bytes;
                }
                yield new String(bytes, c.javaCharset());
            }
        };
    }

    /** MySQL stores geometry as a 4-byte SRID followed by the WKB: Ferry keeps the WKB. */
    private static byte[] wkb(byte[] stored) {
        return stored == null || stored.length < 4 ? stored : Arrays.copyOfRange(stored, 4, stored.length);
    }

    private static String bits(BitSet set, int length) {
        StringBuilder sb = new StringBuilder(length);
        for (int i = length - 1; i >= 0; i--) {
            sb.append(set.get(i) ? '1' : '0');
        }
        return sb.toString();
    }

    private static String zeroDateAsNull(String date) {
        if (date == null || date.length() < 10 || date.startsWith("-00", 4) || date.startsWith("-00", 7)) {
            return null;
        }
        return date;
    }

    /** {@code 2026-11-24 12:34:56.5} to {@code 2026-11-24T12:34:56.5}; zero dates to null. */
    private static String isoLocal(String text) {
        String date = zeroDateAsNull(text);
        return date == null ? null : date.replace(' ', 'T');
    }
}
