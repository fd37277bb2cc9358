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
 * Appends rows straight into a mirror or history table with DuckDB's Appender, each value in the
 * binary form of the column's type: no staging table, no cast, no {@code INSERT … ON CONFLICT}. For a
 * mirror, only rows whose key it does not hold ({@link TableWriter} proves it); for a history, every
 * row (it is append-only). A row with a value whose binary form is not certain ({@link BinaryValues}:
 * {@code infinity}, years BC, NaN) is left to the staging path, which casts its text.
 *
 * <p>Built per write from the table's columns as DuckDB has them: null (no direct path for the
 * table) when a column's type was widened beyond the source's, or is one this class does not write
 * natively (times, intervals, lists), so that both paths always store the same thing. A history
 * table's first columns are its metadata ({@link #HISTORY_META}), whose values the caller gives in
 * binary form.
 */
final class TableAppender {
    private static final Pattern DECIMAL = Pattern.compile("DECIMAL\\((\\d+),(\\d+)\\)");

    /** How one column is appended. */
    private enum Kind {
        ABSENT, BOOLEAN, SMALLINT, INTEGER, BIGINT, FLOAT, DOUBLE, DECIMAL, TEXT, UUID, BLOB, DATE, TIMESTAMP, TIMESTAMPTZ
    }

    /**
     * A history table's metadata columns as DuckDB reports them, in table order (TableWriter creates
     * them so), with how each is appended: the offset, op, position, commit time (epoch microseconds),
     * transaction id, and the unchanged columns' list, appended only as null.
     */
    private static final List<Map.Entry<String, String>> HISTORY_META = List.of(Map.entry("_ferry_offset", "BIGINT"),
            Map.entry("_ferry_op", "VARCHAR"), Map.entry("_ferry_position", "VARCHAR"),
            Map.entry("_ferry_committed_at", "TIMESTAMP WITH TIME ZONE"), Map.entry("_ferry_tx_id", "BIGINT"),
            Map.entry("_ferry_unchanged", "VARCHAR[]"));
    private static final Kind[] HISTORY_META_KINDS = {Kind.BIGINT, Kind.TEXT, Kind.TEXT, Kind.TIMESTAMPTZ, Kind.BIGINT,
        Kind.ABSENT};

    private final String schema;
    private final String table;
    private final Kind[] kinds;
    /** For each column, its index among the write's columns; -1 for a column the events lack. */
    private final int[] source;
    private final int[] precision;
    private final int[] scale;
    private final LogicalType[] types;
    /** How many of the first columns are metadata, whose values {@link #row(Object[], Object[])} takes as they are. */
    private final int meta;

    private TableAppender(String schema, String table, Kind[] kinds, int[] source, int[] precision, int[] scale,
                          LogicalType[] types, int meta) {
        this.schema = schema;
        this.table = table;
        this.kinds = kinds;
        this.source = source;
        this.precision = precision;
        this.scale = scale;
        this.types = types;
        this.meta = meta;
    }

    /**
     * The appender of a mirror, or null when one of its columns is not appended natively.
     *
     * @param mirrorColumns the mirror's columns in table order (lower-case name → DuckDB type)
     * @param columns       the write's columns
     */
    static TableAppender mirror(String schema, String table, Map<String, String> mirrorColumns, List<Column> columns) {
        return of(schema, table, mirrorColumns, columns, 0);
    }

    /** The appender of a history table, or null as for {@link #mirror}, or when its metadata columns differ. */
    static TableAppender history(String schema, String table, Map<String, String> historyColumns, List<Column> columns) {
        List<Map.Entry<String, String>> first = historyColumns.entrySet().stream().limit(HISTORY_META.size()).toList();
        return first.equals(HISTORY_META) ? of(schema, table, historyColumns, columns, HISTORY_META.size()) : null;
    }

    private static TableAppender of(String schema, String table, Map<String, String> tableColumns, List<Column> columns,
                                    int meta) {
        int n = tableColumns.size();
        Kind[] kinds = new Kind[n];
        int[] source = new int[n];
        int[] precision = new int[n];
        int[] scale = new int[n];
        LogicalType[] types = new LogicalType[n];
        int m = 0;
        for (Map.Entry<String, String> mc : tableColumns.entrySet()) {
            source[m] = -1;
            if (m < meta) {
                kinds[m] = HISTORY_META_KINDS[m++];
                continue;
            }
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
        return new TableAppender(schema, table, kinds, source, precision, scale, types, meta);
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
        return row(new Object[0], values);
    }

    /**
     * The row of a history table: its metadata values, already in binary form (see
     * {@link #HISTORY_META}), then the row as for {@link #row(Object[])}.
     */
    Object[] row(Object[] metaValues, Object[] values) {
        Object[] out = new Object[kinds.length];
        System.arraycopy(metaValues, 0, out, 0, meta);
        try {
            for (int m = meta; m < kinds.length; m++) {
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
