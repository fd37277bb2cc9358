package dev.ferry.sink.duckdb;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a value in its {@link LogicalType} representation into the Java value its
 * {@linkplain DuckDbTypes#carrier carrier} is appended with: Boolean, Long, Double, or the text
 * DuckDB's cast parses (bytes as base64). Pure; no DuckDB involved. Public for the Parquet sink.
 */
public final class CarrierValues {
    private static final JsonFactory JSON = new JsonFactory();
    /** PostgreSQL's IntervalStyle iso_8601: each field signed on its own ({@code P-1M2DT-3H-0.5S}). */
    private static final Pattern ISO_DURATION = Pattern.compile(
            "P(?:(-?\\d+)Y)?(?:(-?\\d+)M)?(?:(-?\\d+)W)?(?:(-?\\d+)D)?(?:T(?:(-?\\d+)H)?(?:(-?\\d+)M)?(?:(-?\\d+(?:\\.\\d+)?)S)?)?");
    private static final BigDecimal MICROS_PER_HOUR = BigDecimal.valueOf(3_600_000_000L);
    private static final BigDecimal MICROS_PER_MINUTE = BigDecimal.valueOf(60_000_000L);

    /** A value the sink cannot stage, with the reason; becomes a DATA error naming table and column. */
    public static final class Unstorable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Unstorable(String reason) {
            super(reason, null, false, false);
        }
    }

    private CarrierValues() {
    }

    /** The carrier value of {@code value} (non-null) in column {@code c}. */
    public static Object of(Column c, Object value) {
        return switch (DuckDbTypes.carrier(c)) {
            case BOOLEAN -> value instanceof Boolean ? value : Boolean.valueOf(value.toString());
            case BIGINT -> value instanceof Long ? value : Long.valueOf(value.toString());
            case DOUBLE -> value instanceof Double ? value : Double.valueOf(value.toString());
            case VARCHAR -> c.type() == LogicalType.ARRAY ? arrayText(c, value) : text(c.type(), value);
        };
    }

    /** The text DuckDB's cast to the stored type parses. */
    static String text(LogicalType type, Object value) {
        if (value instanceof byte[] bytes) {
            return Base64.getEncoder().encodeToString(bytes);
        }
        String s = value.toString();
        return switch (type) {
            // java.time writes years past 9999 with a '+', which DuckDB does not read
            case DATE, TIMESTAMP, TIMESTAMPTZ -> s.startsWith("+") ? s.substring(1) : s;
            case INTERVAL -> interval(s);
            default -> s;
        };
    }

    /** An array as a JSON array of element texts (nulls kept), which the SQL side casts element by element. */
    private static String arrayText(Column c, Object value) {
        if (!(value instanceof List<?> list)) {
            throw new Unstorable("expected an array, got " + value.getClass().getSimpleName());
        }
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartArray();
            for (Object element : list) {
                if (element == null) {
                    g.writeNull();
                } else if (element instanceof List<?>) {
                    throw new Unstorable("a multi-dimensional array: DuckDB lists of this column hold one dimension "
                            + "(PostgreSQL does not declare an array column's dimensions)");
                } else {
                    g.writeString(text(c.elementType(), element));
                }
            }
            g.writeEndArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /**
     * An ISO-8601 duration as DuckDB's interval text, {@code M months D days U microseconds}: DuckDB
     * does not parse ISO durations, and keeping months, days and microseconds apart keeps the meaning
     * of PostgreSQL's intervals (a month is not 30 days).
     */
    static String interval(String iso) {
        Matcher m = ISO_DURATION.matcher(iso);
        if (!m.matches() || iso.equals("P") || iso.endsWith("T")) {
            throw new Unstorable("not an ISO-8601 duration: " + iso);
        }
        long months = Math.addExact(Math.multiplyExact(num(m.group(1)), 12), num(m.group(2)));
        long days = Math.addExact(Math.multiplyExact(num(m.group(3)), 7), num(m.group(4)));
        BigDecimal micros = MICROS_PER_HOUR.multiply(BigDecimal.valueOf(num(m.group(5))))
                .add(MICROS_PER_MINUTE.multiply(BigDecimal.valueOf(num(m.group(6)))))
                .add(m.group(7) == null ? BigDecimal.ZERO : new BigDecimal(m.group(7)).movePointRight(6));
        return months + " months " + days + " days " + micros.toBigIntegerExact() + " microseconds";
    }

    private static long num(String group) {
        return group == null ? 0 : Long.parseLong(group);
    }
}
