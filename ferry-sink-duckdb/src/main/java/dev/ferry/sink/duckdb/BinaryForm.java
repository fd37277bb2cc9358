package dev.ferry.sink.duckdb;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import java.math.BigDecimal;
import java.sql.SQLException;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.duckdb.DuckDBAppender;

/**
 * How one column's values are appended to a DuckDB column of its stored type in binary form, without a
 * text cast: {@link #convert} turns a value in its {@link LogicalType} representation into the Java
 * value {@link #append} hands to the Appender, or null when the value has no certain binary form
 * ({@link BinaryValues}) and must travel as text. Immutable.
 */
final class BinaryForm {
    private static final Pattern DECIMAL = Pattern.compile("DECIMAL\\((\\d+),(\\d+)\\)");

    /** The Appender call a value takes. */
    enum Kind {
        BOOLEAN, SMALLINT, INTEGER, BIGINT, FLOAT, DOUBLE, DECIMAL, TEXT, UUID, BLOB, DATE, TIMESTAMP, TIMESTAMPTZ
    }

    /** Values given already in binary form (a history's metadata): a Long, a String, epoch microseconds. */
    static final BinaryForm LONG = new BinaryForm(Kind.BIGINT, LogicalType.INT64, 0, 0);
    static final BinaryForm STRING = new BinaryForm(Kind.TEXT, LogicalType.STRING, 0, 0);
    static final BinaryForm EPOCH_MICROS = new BinaryForm(Kind.TIMESTAMPTZ, LogicalType.TIMESTAMPTZ, 0, 0);

    private final Kind kind;
    private final LogicalType type;
    private final int precision;
    private final int scale;

    private BinaryForm(Kind kind, LogicalType type, int precision, int scale) {
        this.kind = kind;
        this.type = type;
        this.precision = precision;
        this.scale = scale;
    }

    /**
     * The binary form of a column stored as {@code stored}; null when there is none (times, intervals,
     * lists) or when the stored type is not the column's own (a widened column: the cast widens).
     */
    static BinaryForm of(Column c, String stored) {
        if (!DuckDbTypes.stored(c).equals(stored)) {
            return null;
        }
        Kind kind = switch (c.type()) {
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
        if (kind == null) {
            return null;
        }
        Matcher d = DECIMAL.matcher(stored);
        return kind == Kind.DECIMAL && d.matches()
                ? new BinaryForm(kind, c.type(), Integer.parseInt(d.group(1)), Integer.parseInt(d.group(2)))
                : new BinaryForm(kind, c.type(), 0, 0);
    }

    /** The value (non-null) in binary form, or null when it must travel as text for DuckDB's cast. */
    Object convert(Object v) {
        try {
            return switch (kind) {
                case BOOLEAN -> v instanceof Boolean ? v : null;
                case SMALLINT -> {
                    long l = longOf(v);
                    yield l == (short) l ? Short.valueOf((short) l) : null;
                }
                case INTEGER -> Integer.valueOf(Math.toIntExact(longOf(v)));
                case BIGINT -> Long.valueOf(longOf(v));
                case FLOAT -> v instanceof Double d ? Float.valueOf(d.floatValue()) : null;
                case DOUBLE -> v instanceof Double ? v : null;
                case DECIMAL -> BinaryValues.decimal(v.toString(), precision, scale);
                case TEXT -> v instanceof byte[] ? null : CarrierValues.text(type, v);
                case UUID -> BinaryValues.uuid(v.toString());
                case BLOB -> v instanceof byte[] ? v : null;
                case DATE -> epoch(BinaryValues.epochDays(v.toString()));
                case TIMESTAMP -> epoch(BinaryValues.epochMicros(v.toString(), false));
                case TIMESTAMPTZ -> epoch(BinaryValues.epochMicros(v.toString(), true));
            };
        } catch (RuntimeException e) {
            return null; // the text path reports the value DuckDB cannot hold, naming its column
        }
    }

    /** Appends a value from {@link #convert}; null appends NULL. */
    void append(DuckDBAppender a, Object v) throws SQLException {
        if (v == null) {
            a.appendNull();
            return;
        }
        switch (kind) {
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
        }
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
}
