package dev.ferry.sink.duckdb;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How each {@link LogicalType} is stored in DuckDB (the table in docs/sinks.md), and how its values
 * travel there: every value is appended to a staging table in a <em>carrier</em> type the Appender
 * handles natively (BOOLEAN, BIGINT, DOUBLE, or VARCHAR holding the text of the value; bytes as base64), and one
 * SQL cast per column turns the carrier into the stored type. DuckDB parses the text forms of dates,
 * times, timestamps (with {@code infinity} and years before 1), UUIDs, JSON and decimals itself, so a
 * value it cannot hold fails in that cast, inside the write's transaction. Public for the Parquet
 * sink, which writes through DuckDB too (ferry-sink-parquet).
 */
public final class DuckDbTypes {
    /** numeric(p,s) as format_type writes it; DECIMAL when DuckDB's 38 digits hold it. */
    private static final Pattern NUMERIC = Pattern.compile("numeric\\((\\d+),(-?\\d+)\\)(\\[\\])?");
    private static final int MAX_DECIMAL_PRECISION = 38;

    /** The appender-native type a value is staged in (bytes travel as base64 text: the driver's Appender takes byte arrays only for lists). */
    public enum Carrier {
        BOOLEAN, BIGINT, DOUBLE, VARCHAR
    }

    private DuckDbTypes() {
    }

    /** The DuckDB type of a column, spelled as {@code duckdb_columns()} reports it. */
    public static String stored(Column c) {
        if (c.type() == LogicalType.ARRAY) {
            return scalar(c.elementType(), c.sourceType()) + "[]";
        }
        return scalar(c.type(), c.sourceType());
    }

    private static String scalar(LogicalType type, String sourceType) {
        return switch (type) {
            case BOOLEAN -> "BOOLEAN";
            case INT16 -> "SMALLINT";
            case INT32 -> "INTEGER";
            case INT64 -> "BIGINT";
            case FLOAT32 -> "FLOAT";
            case FLOAT64 -> "DOUBLE";
            case DECIMAL -> decimal(sourceType);
            case UUID -> "UUID";
            case BYTES -> "BLOB";
            case JSON -> "JSON";
            case DATE -> "DATE";
            case TIME -> "TIME";
            case TIMETZ -> "TIME WITH TIME ZONE";
            case TIMESTAMP -> "TIMESTAMP";
            case TIMESTAMPTZ -> "TIMESTAMP WITH TIME ZONE";
            case INTERVAL -> "INTERVAL";
            // enums, network addresses, XML, bit strings and types DuckDB lacks: their exact text
            case STRING, ENUM, NETWORK, XML, BITS -> "VARCHAR";
            case ARRAY -> throw new IllegalArgumentException("nested ARRAY element type");
        };
    }

    /**
     * DECIMAL(p,s) for {@code numeric(p,s)} with p at most 38 and 0 ≤ s ≤ p; otherwise VARCHAR holding
     * the exact decimal text (unconstrained numeric has up to 131,072 digits, NaN and ±Infinity).
     * Never DOUBLE: that would round.
     */
    private static String decimal(String sourceType) {
        Matcher m = NUMERIC.matcher(sourceType.trim().toLowerCase(Locale.ROOT));
        if (m.matches()) {
            int p = Integer.parseInt(m.group(1));
            int s = Integer.parseInt(m.group(2));
            if (p >= 1 && p <= MAX_DECIMAL_PRECISION && s >= 0 && s <= p) {
                return "DECIMAL(" + p + "," + s + ")";
            }
        }
        return "VARCHAR";
    }

    /** The staging type of a column's values. Arrays travel as a JSON array of element texts. */
    public static Carrier carrier(Column c) {
        return switch (c.type()) {
            case BOOLEAN -> Carrier.BOOLEAN;
            case INT16, INT32, INT64 -> Carrier.BIGINT;
            case FLOAT32, FLOAT64 -> Carrier.DOUBLE;
            default -> Carrier.VARCHAR;
        };
    }

    /** The SQL that turns the staged carrier {@code staged} (an expression) into the stored type. */
    public static String fromCarrier(Column c, String staged) {
        if (c.type() == LogicalType.ARRAY) {
            String element = elementFromText(c.elementType(), scalar(c.elementType(), elementSourceType(c)), "e");
            return "list_transform(CAST(CAST(" + staged + " AS JSON) AS VARCHAR[]), lambda e: " + element + ")";
        }
        String stored = stored(c);
        return switch (carrier(c)) {
            case BOOLEAN -> staged;
            case BIGINT -> stored.equals("BIGINT") ? staged : "CAST(" + staged + " AS " + stored + ")";
            case DOUBLE -> stored.equals("DOUBLE") ? staged : "CAST(" + staged + " AS " + stored + ")";
            case VARCHAR -> c.type() == LogicalType.BYTES ? "from_base64(" + staged + ")"
                    : stored.equals("VARCHAR") ? staged : "CAST(" + staged + " AS " + stored + ")";
        };
    }

    private static String elementSourceType(Column c) {
        String s = c.sourceType();
        return s.endsWith("[]") ? s.substring(0, s.length() - 2) : s;
    }

    /** An array element, staged as text, in its stored type. */
    private static String elementFromText(LogicalType type, String stored, String e) {
        if (type == LogicalType.BYTES) {
            return "from_base64(" + e + ")";
        }

        return stored.equals("VARCHAR") ? e : "CAST(" + e + " AS " + stored + ")";
    }

    /**
     * The type a mirror column of type {@code existing} must have to hold both its own values and
     * those of {@code wanted} exactly: {@code existing} itself when it already does (an INTEGER column
     * takes SMALLINT values, exact text takes decimals), a wider type to alter it to (INTEGER to
     * BIGINT, DECIMAL(10,2) to DECIMAL(12,4)), or null when no type keeps the meaning of both (text
     * that became a number, a timestamp that gained a zone).
     */
    static String reconcile(String existing, String wanted) {
        if (existing.equalsIgnoreCase(wanted)) {
            return existing;
        }
        if (existing.endsWith("[]") && wanted.endsWith("[]")) {
            String element = reconcile(existing.substring(0, existing.length() - 2), wanted.substring(0, wanted.length() - 2));
            return element == null ? null : element + "[]";
        }
        int e = integerRank(existing);
        int w = integerRank(wanted);
        if (e > 0 && w > 0) {
            return w > e ? wanted : existing;
        }
        if ((existing.equals("FLOAT") || existing.equals("DOUBLE")) && (wanted.equals("FLOAT") || wanted.equals("DOUBLE"))) {
            return "DOUBLE";
        }
        int[] ed = decimalParts(existing);
        int[] wd = decimalParts(wanted);
        if (ed != null && wd != null) {
            int scale = Math.max(ed[1], wd[1]);
            int digits = Math.max(ed[0] - ed[1], wd[0] - wd[1]) + scale;
            return digits <= MAX_DECIMAL_PRECISION ? "DECIMAL(" + digits + "," + scale + ")" : "VARCHAR";
        }
        if (ed != null && wanted.equals("VARCHAR") || existing.equals("VARCHAR") && wd != null) {
            return "VARCHAR"; // numeric(p,s) and numeric: exact decimal text holds both
        }
        if (e > 0 && wd != null && wd[0] - wd[1] >= INTEGER_DIGITS[e]) {
            return wanted;
        }
        return null;
    }

    /** Decimal digits an integer type of each rank may need. */
    private static final int[] INTEGER_DIGITS = {0, 5, 10, 19};

    private static int integerRank(String t) {
        return switch (t) {
            case "SMALLINT" -> 1;
            case "INTEGER" -> 2;
            case "BIGINT" -> 3;
            default -> 0;
        };
    }

    private static int[] decimalParts(String t) {
        Matcher m = Pattern.compile("DECIMAL\\((\\d+),(\\d+)\\)").matcher(t);
        return m.matches() ? new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))} : null;
    }

    /** Double-quotes an identifier for DuckDB. */
    public static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }
}
