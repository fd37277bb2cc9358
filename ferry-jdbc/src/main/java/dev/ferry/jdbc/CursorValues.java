package dev.ferry.jdbc;

import dev.ferry.event.LogicalType;
import java.math.BigDecimal;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/**
 * Values of cursor and key columns as typed Java values: read from a result set, bound as query
 * parameters (so a comparison happens in the database's own type, never as text), compared, moved
 * back by a look-back, and encoded as text for the position ({@code i:42}, {@code t:2026-11-30T10:00}).
 */
enum CursorValues {
    INTEGER("i"), DECIMAL("n"), TIMESTAMP("t"), TIMESTAMPTZ("z"), DATE("d"), TEXT("s"),
    /** A UUID, kept as its text and bound as a {@link java.util.UUID} (PostgreSQL compares no uuid with text). */
    UUID("u"),
    /**
     * A MySQL/MariaDB {@code TIMESTAMP}: an instant, held as an {@link OffsetDateTime} at UTC like
     * {@link #TIMESTAMPTZ} (the same tag), read and bound as the zone-less date-time the UTC session
     * shows ({@link Dialect#startSession}), so no driver or JVM time zone takes part.
     */
    UTC_TIMESTAMP("z"),
    /** Any other type: bound back as the driver's own object; never a cursor. */
    OTHER("o");

    private static final DateTimeFormatter SPACED = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    private final String tag;

    CursorValues(String tag) {
        this.tag = tag;
    }

    static CursorValues of(LogicalType type) {
        return switch (type) {
            case INT16, INT32, INT64 -> INTEGER;
            case DECIMAL -> DECIMAL;
            case TIMESTAMP -> TIMESTAMP;
            case TIMESTAMPTZ -> TIMESTAMPTZ;
            case DATE -> DATE;
            case UUID -> UUID;
            case STRING, ENUM -> TEXT;
            default -> OTHER;
        };
    }

    boolean cursorCapable() {
        return this != OTHER;
    }

    /** Whether values of this kind move back by a duration (else by an amount). */
    boolean temporal() {
        return this == TIMESTAMP || this == TIMESTAMPTZ || this == UTC_TIMESTAMP || this == DATE || this == TEXT;
    }

    @SuppressWarnings("unchecked")
    Comparable<Object> read(ResultSet rs, int i) throws SQLException {
        Object v = switch (this) {
            case INTEGER -> {
                long n = rs.getLong(i);
                yield rs.wasNull() ? null : n;
            }
            case DECIMAL -> rs.getBigDecimal(i);
            case TIMESTAMP -> rs.getObject(i, LocalDateTime.class);
            case TIMESTAMPTZ -> {
                OffsetDateTime t = rs.getObject(i, OffsetDateTime.class);
                yield t == null ? null : t.withOffsetSameInstant(ZoneOffset.UTC);
            }
            case UTC_TIMESTAMP -> {
                LocalDateTime t = rs.getObject(i, LocalDateTime.class);
                yield t == null ? null : t.atOffset(ZoneOffset.UTC);
            }
            case DATE -> rs.getObject(i, LocalDate.class);
            case TEXT, UUID -> rs.getString(i);
            case OTHER -> new Opaque(rs.getObject(i), rs.getString(i));
        };
        return (Comparable<Object>) v;
    }

    void bind(PreparedStatement ps, int i, Object v) throws SQLException {
        switch (this) {
            case INTEGER -> ps.setLong(i, (Long) v);
            case DECIMAL -> ps.setBigDecimal(i, (BigDecimal) v);
            case TEXT -> ps.setString(i, (String) v);
            case UUID -> ps.setObject(i, java.util.UUID.fromString((String) v));
            case OTHER -> ps.setObject(i, ((Opaque) v).value());
            case UTC_TIMESTAMP -> ps.setObject(i, ((OffsetDateTime) v).withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime());
            default -> ps.setObject(i, v);
        }
    }

    /** The value in the representation of its column's {@link LogicalType}, for an event's row. */
    Object logical(Object v) {
        if (v == null) {
            return null;
        }
        return switch (this) {
            case DECIMAL -> ((BigDecimal) v).toPlainString();
            case TIMESTAMP -> DateTimeFormatter.ISO_LOCAL_DATE_TIME.format((LocalDateTime) v);
            case TIMESTAMPTZ, UTC_TIMESTAMP -> ((OffsetDateTime) v).toInstant().toString();
            case DATE -> v.toString();
            default -> v;
        };
    }

    /** The value as text that {@link #decode} reads back: the kind's tag, a colon, the value. */
    String encode(Object v) {
        return tag + ":" + v;
    }

    /** A value of any kind in {@link #encode}'s form, its kind told by its Java type. */
    static String encodeAny(Object v) {
        CursorValues kind = v instanceof Long ? INTEGER : v instanceof BigDecimal ? DECIMAL
                : v instanceof LocalDateTime ? TIMESTAMP : v instanceof OffsetDateTime ? TIMESTAMPTZ
                : v instanceof LocalDate ? DATE : TEXT;
        return kind.encode(v);
    }

    static Comparable<?> decode(String text) {
        int colon = text.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("not an encoded cursor value: " + text);
        }
        String v = text.substring(colon + 1);
        return switch (text.substring(0, colon)) {
            case "i" -> Long.parseLong(v);
            case "n" -> new BigDecimal(v);
            case "t" -> LocalDateTime.parse(v);
            case "z" -> OffsetDateTime.parse(v);
            case "d" -> LocalDate.parse(v);
            case "s", "u" -> v;
            default -> throw new IllegalArgumentException("not an encoded cursor value: " + text);
        };
    }

    /**
     * The value moved back by the look-back; null when a text value is not a timestamp this can move
     * ({@code 2026-11-30 10:00:00} or ISO-8601).
     */
    Object minus(Object v, TableSpec.Lookback back) {
        if (back.none()) {
            return v;
        }
        return switch (this) {
            case INTEGER -> (Long) v - back.amount();
            case DECIMAL -> ((BigDecimal) v).subtract(BigDecimal.valueOf(back.amount()));
            case TIMESTAMP -> ((LocalDateTime) v).minus(back.duration());
            case TIMESTAMPTZ, UTC_TIMESTAMP -> ((OffsetDateTime) v).minus(back.duration());
            case DATE -> ((LocalDate) v).minusDays(Math.max(1, back.duration().toDays()));
            case TEXT -> minusText((String) v, back);
            case UUID, OTHER -> null;
        };
    }

    /** SQLite keeps timestamps as text: move it back and write it the way it was written. */
    private static String minusText(String v, TableSpec.Lookback back) {
        if (back.duration() == null) {
            return null;
        }
        try {
            boolean spaced = v.length() > 10 && v.charAt(10) == ' ';
            LocalDateTime t = LocalDateTime.parse(spaced ? v.substring(0, 10) + "T" + v.substring(11) : v);
            LocalDateTime moved = t.minus(back.duration());
            return spaced ? SPACED.format(moved) : DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(moved);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /** A key value of a type with no rule: bound back as the driver's object, compared by its text. */
    record Opaque(Object value, String text) implements Comparable<Opaque> {
        @Override
        public int compareTo(Opaque o) {
            return text.compareTo(o.text);
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
