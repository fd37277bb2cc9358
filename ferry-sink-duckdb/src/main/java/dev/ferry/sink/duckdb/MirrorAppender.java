package dev.ferry.sink.duckdb;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import java.math.BigDecimal;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;

/**
 * Appends new rows straight into a mirror table with DuckDB's Appender, each value in the binary form
 * of the mirror column's type: no staging table, no cast, no {@code INSERT … ON CONFLICT}. Only for
 * rows whose key the mirror does not hold ({@link TableWriter} proves it); a row with a value whose
 * binary form is not certain ({@link BinaryValues}: {@code infinity}, years BC, NaN) is left to the
 * staging path, which casts its text.
 *
 * <p>Built per write from the mirror's columns as DuckDB has them: null (no direct path for the
 * table) when a column's type was widened beyond the source's, or is one this class does not write
 * natively (times, intervals, lists), so that both paths always store the same thing.
 */
final class MirrorAppender {
    private static final Pattern DECIMAL = Pattern.compile("DECIMAL\\((\\d+),(\\d+)\\)");

    /** How one mirror column is appended. */
    private enum Kind {
        ABSENT, BOOLEAN, SMALLINT, INTEGER, BIGINT, FLOAT, DOUBLE, DECIMAL, TEXT, UUID, BLOB, DATE, TIMESTAMP, TIMESTAMPTZ
    }

    private final String schema;
    private final String table;
    private final Kind[] kinds;
    /** For each mirror column, its index among the write's columns; -1 for a column the events lack. */
    private final int[] source;
    private final int[] precision;
    private final int[] scale;
    private final LogicalType[] types;

    private MirrorAppender(String schema, String table, Kind[] kinds, int[] source, int[] precision, int[] scale,
                           LogicalType[] types) {
        this.schema = schema;
        this.table = table;
        this.kinds = kinds;
        this.source = source;
        this.precision = precision;
        this.scale = scale;
        this.types = types;
    }

    /**
     * The appender of a mirror, or null when one of its columns is not appended natively.
     *
     * @param mirrorColumns the mirror's columns in table order (lower-case name → DuckDB type)
     * @param columns       the write's columns
     */
    static MirrorAppender of(String schema, String table, Map<String, String> mirrorColumns, List<Column> columns) {
        int n = mirrorColumns.size();
        Kind[] kinds = new Kind[n];
        int[] source = new int[n];
        int[] precision = new int[n];
        int[] scale = new int[n];
        LogicalType[] types = new LogicalType[n];
        int m = 0;
        for (Map.Entry<String, String> mc : mirrorColumns.entrySet()) {
            source[m] = -1;
            kinds[m] = Kind.ABSENT;
            for (int i = 0; i < columns.size(); i++) {
                if (columns.get(i).name().toLowerCase(Locale.ROOT).equals(mc.getKey())) {
                    source[m] = i;
                }
            }
            if (source[m] >= 0) {
                Column c = columns.get(source[m]);
                if (!DuckDbTypes.stored(c).equals(mc.getValue())) {
                    return null; // widened: the staging path casts to the wider type
                }
                types[m] = c.type();
                kinds[m] = kind(c.type(), mc.getValue());
                if (kinds[m] == null) {
                    return null;
                }
                Matcher d = DECIMAL.matcher(mc.getValue());
                if (kinds[m] == Kind.DECIMAL && d.matches()) {
                    precision[m] = Integer.parseInt(d.group(1));
                    scale[m] = Integer.parseInt(d.group(2));
                }
            }
            m++;
        }
        return new MirrorAppender(schema, table, kinds, source, precision, scale, types);
    }

    private static Kind kind(LogicalType type, String stored) {
        return switch (type) {
            case BOOLEAN -> Kind.BOOLEAN;
            case INT16 -> Kind.SMALLINT;
            case INT32 -> Kind.INTEGER;
            case INT64 -> Kind.BIGINT;
            case FLOAT32 -> Kind.FLOAT;
            case FLOAT64 -> Kind.DOUBLE;
            case DECIMAL -> stored.equals("VARCHAR") ? Kind.TEXT : Kind.DECIMAL;
            case STRING, ENUM, NETWORK, XML, BITS, JSON -> Kind.TEXT;
            case UUID -> Kind.UUID;
            case BYTES -> Kind.BLOB;
            case DATE -> Kind.DATE;
            case TIMESTAMP -> Kind.TIMESTAMP;
            case TIMESTAMPTZ -> Kind.TIMESTAMPTZ;
            case TIME, TIMETZ, INTERVAL, ARRAY -> null;
        };
    }

    /**
     * The row of the mirror for the given values of the write's columns, each in its binary form
     * (null values stay null); null when one value needs the text path.
     */
    Object[] row(Object[] values) {
        Object[] out = new Object[kinds.length];
        try {
            for (int m = 0; m < kinds.length; m++) {
                Object v = source[m] < 0 ? null : values[source[m]];
                if (v == null) {
                    continue;
                }
                out[m] = binary(m, v);
                if (out[m] == null) {
                    return null;
                }
            }
        } catch (RuntimeException e) {
            return null; // the staging path reports the value DuckDB cannot hold, naming its column
        }
        return out;
    }

    private Object binary(int m, Object v) {
        return switch (kinds[m]) {
            case ABSENT -> null;
            case BOOLEAN -> v instanceof Boolean ? v : null;
            case SMALLINT -> {
                long l = longOf(v);
                yield l == (short) l ? Short.valueOf((short) l) : null;
            }
            case INTEGER -> Integer.valueOf(Math.toIntExact(longOf(v)));
            case BIGINT -> Long.valueOf(longOf(v));
            case FLOAT -> v instanceof Double d ? Float.valueOf(d.floatValue()) : null;
            case DOUBLE -> v instanceof Double ? v : null;
            case DECIMAL -> BinaryValues.decimal(v.toString(), precision[m], scale[m]);
            case TEXT -> v instanceof byte[] ? null : CarrierValues.text(types[m], v);
            case UUID -> BinaryValues.uuid(v.toString());
            case BLOB -> v instanceof byte[] ? v : null;
            case DATE -> epoch(BinaryValues.epochDays(v.toString()));
            case TIMESTAMP -> epoch(BinaryValues.epochMicros(v.toString(), false));
            case TIMESTAMPTZ -> epoch(BinaryValues.epochMicros(v.toString(), true));
        };
    }

    private static long longOf(Object v) {
        if (v instanceof Long l) {
            return l;
        }
        throw new IllegalArgumentException("not a Long: " + v.getClass().getSimpleName());
    }

    private static Long epoch(long value) {
        return value == BinaryValues.NONE ? null : value;
    }

    /** Appends the rows (from {@link #row}) to the mirror; DuckDB checks the primary key when it flushes. */
    void append(DuckDBConnection db, List<Object[]> rows) throws SQLException {
        try (DuckDBAppender a = db.createAppender(schema, table)) {
            for (Object[] row : rows) {
                a.beginRow();
                for (int m = 0; m < kinds.length; m++) {
                    appendOne(a, m, row[m]);
                }
                a.endRow();
            }
        }
    }

    private void appendOne(DuckDBAppender a, int m, Object v) throws SQLException {
        if (v == null) {
            a.appendNull();
            return;
        }
        switch (kinds[m]) {
            case BOOLEAN -> a.append(((Boolean) v).booleanValue());
            case SMALLINT -> a.append(((Short) v).shortValue());
            case INTEGER -> a.append(((Integer) v).intValue());
            case BIGINT -> a.append(((Long) v).longValue());
            case FLOAT -> a.append(((Float) v).floatValue());
            case DOUBLE -> a.append(((Double) v).doubleValue());
            case DECIMAL -> a.append((BigDecimal) v);
            case TEXT -> a.append((String) v);
            case UUID -> a.append((UUID) v);
            case BLOB -> a.append((byte[]) v);
            case DATE -> a.appendEpochDays(Math.toIntExact((Long) v));
            case TIMESTAMP, TIMESTAMPTZ -> a.appendEpochMicros((Long) v);
            case ABSENT -> a.appendNull();
        }
    }
}
