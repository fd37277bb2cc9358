package dev.ferry.jdbc;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.RowEncoder;
import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Reads one column of a result set into its {@link LogicalType}'s representation, from what the
 * driver reports ({@link Types} and the type name), so one reader serves every database. Types no
 * rule knows are read as their text.
 */
final class ColumnReader {
    private final LogicalType type;
    private final String sourceType;
    /**
     * A MySQL/MariaDB {@code TIMESTAMP}: an instant the session (in UTC, {@link Dialect#startSession})
     * shows as a zone-less date-time, read as that date-time at UTC.
     */
    private final boolean utcSession;

    private ColumnReader(LogicalType type, String sourceType, boolean utcSession) {
        this.type = type;
        this.sourceType = sourceType;
        this.utcSession = utcSession;
    }

    /** The reader of result column {@code index} (1-based). */
    static ColumnReader of(ResultSetMetaData md, int index, Dialect dialect) throws SQLException {
        String name = md.getColumnTypeName(index);
        String typeName = name == null ? "" : name.toLowerCase(Locale.ROOT);
        int jdbcType = md.getColumnType(index);
        if (dialect.mysqlFamily() && jdbcType == Types.TIMESTAMP && typeName.equals("timestamp")) {
            return new ColumnReader(LogicalType.TIMESTAMPTZ, name, true);
        }
        return new ColumnReader(logicalType(jdbcType, typeName, md.getPrecision(index), dialect.sqlite()),
                name == null ? "unknown" : name, false);
    }

    static LogicalType logicalType(int jdbcType, String typeName, int precision, boolean sqlite) {
        if (typeName.contains("json")) {
            return LogicalType.JSON;
        }
        if (typeName.equals("uuid")) {
            return LogicalType.UUID;
        }
        if (sqlite) {
            // SQLite keeps dates and times as the text (or number) that was written: pass it on as it is
            return switch (jdbcType) {
                case Types.INTEGER, Types.BIGINT, Types.SMALLINT, Types.TINYINT -> LogicalType.INT64;
                case Types.REAL, Types.FLOAT, Types.DOUBLE -> LogicalType.FLOAT64;
                case Types.BLOB, Types.BINARY, Types.VARBINARY -> LogicalType.BYTES;
                case Types.NUMERIC, Types.DECIMAL -> LogicalType.DECIMAL;
                case Types.BOOLEAN -> LogicalType.BOOLEAN;
                default -> LogicalType.STRING;
            };
        }
        return switch (jdbcType) {
            case Types.BOOLEAN -> LogicalType.BOOLEAN;
            case Types.BIT -> precision <= 1 ? LogicalType.BOOLEAN : LogicalType.BYTES;
            case Types.TINYINT, Types.SMALLINT -> LogicalType.INT16;
            case Types.INTEGER -> typeName.contains("unsigned") ? LogicalType.INT64 : LogicalType.INT32;
            case Types.BIGINT -> typeName.contains("unsigned") ? LogicalType.DECIMAL : LogicalType.INT64;
            case Types.REAL -> LogicalType.FLOAT32;
            case Types.FLOAT, Types.DOUBLE -> LogicalType.FLOAT64;
            case Types.NUMERIC, Types.DECIMAL -> LogicalType.DECIMAL;
            case Types.DATE -> typeName.equals("year") ? LogicalType.INT16 : LogicalType.DATE;
            case Types.TIME -> typeName.contains("tz") ? LogicalType.TIMETZ : LogicalType.TIME;
            case Types.TIME_WITH_TIMEZONE -> LogicalType.TIMETZ;
            case Types.TIMESTAMP -> typeName.contains("tz") || typeName.contains("with time zone")
                    ? LogicalType.TIMESTAMPTZ : LogicalType.TIMESTAMP;
            case Types.TIMESTAMP_WITH_TIMEZONE -> LogicalType.TIMESTAMPTZ;
            case Types.BINARY, Types.VARBINARY, Types.LONGVARBINARY, Types.BLOB -> LogicalType.BYTES;
            default -> LogicalType.STRING;
        };
    }

    Column column(String name, boolean key) {
        return Column.of(name, type, sourceType, key);
    }

    LogicalType type() {
        return type;
    }

    /** How the column is read, bound and compared as a cursor or key. */
    CursorValues cursorKind() {
        return utcSession ? CursorValues.UTC_TIMESTAMP : CursorValues.of(type);
    }

    /**
     * Whether the value is the column's text as PostgreSQL sends it: text, JSON, UUID, whatever no rule
     * knows ({@code getString}), and exact decimals (PostgreSQL's numeric text is plain, as
     * {@code toPlainString}, and {@code NaN} and infinities are their text too).
     */
    boolean passesText() {
        return switch (type) {
            case STRING, JSON, UUID, DECIMAL -> !utcSession;
            default -> false;
        };
    }

    /**
     * Puts the value of column {@code i} into {@code out}, as {@code out.put(read(rs, i))} would, with
     * typed getters and without a boxed value. {@code postgresText}: the column comes from PostgreSQL
     * as text ({@code getBytes} gives the text's bytes), so a value that {@link #passesText} is copied
     * as it is and a {@code timestamptz} in UTC patched into ISO-8601.
     */
    void put(ResultSet rs, int i, boolean postgresText, RowEncoder out) throws SQLException {
        if (postgresText && passesText()) {
            byte[] text = rs.getBytes(i);
            if (text == null) {
                out.putNull();
            } else {
                out.putUtf8(text, 0, text.length);
            }
            return;
        }
        if (postgresText && type == LogicalType.TIMESTAMPTZ && !utcSession) {
            byte[] text = rs.getBytes(i);
            byte[] iso = text == null ? null : IsoInstants.fromPostgresUtc(text);
            if (iso != null) {
                out.putUtf8(iso, 0, iso.length);
                return;
            }
        }
        switch (type) {
            case INT16, INT32, INT64 -> {
                long n = rs.getLong(i);
                if (rs.wasNull()) {
                    out.putNull();
                } else {
                    out.putLong(n);
                }
            }
            case FLOAT64 -> {
                double d = rs.getDouble(i);
                if (rs.wasNull()) {
                    out.putNull();
                } else {
                    out.putDouble(d);
                }
            }
            case TIMESTAMPTZ -> {
                OffsetDateTime t = utcSession ? null : instant(rs, i);
                byte[] iso = t == null ? null : IsoInstants.utf8(t.toEpochSecond(), t.getNano());
                if (iso == null) {
                    out.put(read(rs, i)); // null, a MySQL TIMESTAMP, infinity, a year past 9999
                } else {
                    out.putUtf8(iso, 0, iso.length);
                }
            }
            default -> out.put(read(rs, i));
        }
    }

    private static OffsetDateTime instant(ResultSet rs, int i) {
        try {
            return rs.getObject(i, OffsetDateTime.class);
        } catch (SQLException | RuntimeException e) {
            return null; // infinity: read() gives its text
        }
    }

    /** The value of column {@code i} in the representation of {@link #type()}, or null. */
    Object read(ResultSet rs, int i) throws SQLException {
        switch (type) {
            case BOOLEAN -> {
                boolean b = rs.getBoolean(i);
                return rs.wasNull() ? null : b;
            }
            case INT16, INT32, INT64 -> {
                long n = rs.getLong(i);
                return rs.wasNull() ? null : n;
            }
            case FLOAT32 -> {
                float f = rs.getFloat(i);
                // the float's own shortest text, not the double nearest to it (1.1, not 1.100000023841858)
                return rs.wasNull() ? null : Double.parseDouble(Float.toString(f));
            }
            case FLOAT64 -> {
                double d = rs.getDouble(i);
                return rs.wasNull() ? null : d;
            }
            case DECIMAL -> {
                try {
                    BigDecimal d = rs.getBigDecimal(i);
                    return d == null ? null : d.toPlainString();
                } catch (SQLException | NumberFormatException e) {
                    return rs.getString(i); // PostgreSQL's NaN and infinities have no BigDecimal
                }
            }
            case BYTES -> {
                return rs.getBytes(i);
            }
            case DATE -> {
                return temporal(rs, i, LocalDate.class, DateTimeFormatter.ISO_LOCAL_DATE);
            }
            case TIME -> {
                return temporal(rs, i, LocalTime.class, DateTimeFormatter.ISO_LOCAL_TIME);
            }
            case TIMESTAMP -> {
                return temporal(rs, i, LocalDateTime.class, DateTimeFormatter.ISO_LOCAL_DATE_TIME);
            }
            case TIMESTAMPTZ -> {
                try {
                    if (utcSession) {
                        LocalDateTime utc = rs.getObject(i, LocalDateTime.class);
                        return utc == null ? null : utc.toInstant(ZoneOffset.UTC).toString();
                    }
                    OffsetDateTime t = rs.getObject(i, OffsetDateTime.class);
                    if (t != null && (t.equals(OffsetDateTime.MAX) || t.equals(OffsetDateTime.MIN))) {
                        return rs.getString(i); // pgjdbc's infinity: kept as "infinity"
                    }
                    return t == null ? null : t.toInstant().toString();
                } catch (SQLException | RuntimeException e) {
                    return rs.getString(i); // PostgreSQL's infinity, MySQL's zero dates
                }
            }
            default -> {
                return rs.getString(i);
            }
        }
    }

    private static <T extends java.time.temporal.TemporalAccessor> String temporal(ResultSet rs, int i, Class<T> type,
                                                                                  DateTimeFormatter format) throws SQLException {
        try {
            T t = rs.getObject(i, type);
            if (t != null && (t.equals(LocalDate.MAX) || t.equals(LocalDate.MIN) || t.equals(LocalDateTime.MAX)
                    || t.equals(LocalDateTime.MIN))) {
                return rs.getString(i); // pgjdbc's infinity: kept as "infinity"
            }
            return t == null ? null : format.format(t);
        } catch (SQLException | RuntimeException e) {
            return rs.getString(i); // PostgreSQL's infinity, MySQL's zero dates: their text
        }
    }
}
