package dev.ferry.sink.postgres;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import java.util.List;
import java.util.Locale;

/**
 * The PostgreSQL type of a mirror or history column for each {@link LogicalType}, and what counts as
 * compatible when the column already exists. Names are spelled as {@code format_type} spells them,
 * so they compare with the catalog directly. docs/sinks.md has the same table for users.
 */
final class TargetTypes {
    /** How an existing column stands against the type a source column maps to. */
    enum Fit {
        /** The column holds every value of the new type as it is. */
        FITS,
        /** A wider type holds old and new values: the column is altered to it. */
        WIDEN,
        /** The column cannot hold the new values without losing the old ones' meaning. */
        INCOMPATIBLE
    }

    /** Integer and exact-decimal types, narrowest first: a column may widen along this list. */
    private static final List<String> INTEGERS = List.of("smallint", "integer", "bigint", "numeric");
    private static final List<String> FLOATS = List.of("real", "double precision");
    /** Types a user may give a text-like column in the target (a narrower varchar): values that do not fit fail as DATA. */
    private static final List<String> TEXTS = List.of("text", "character varying", "character");

    private TargetTypes() {
    }

    /** The target type of a source column. */
    static String of(Column c) {
        return c.type() == LogicalType.ARRAY ? scalar(c.elementType()) + "[]" : scalar(c.type());
    }

    static String scalar(LogicalType t) {
        return switch (t) {
            case BOOLEAN -> "boolean";
            case INT16 -> "smallint";
            case INT32 -> "integer";
            case INT64 -> "bigint";
            case FLOAT32 -> "real";
            case FLOAT64 -> "double precision";
            case DECIMAL -> "numeric";
            case STRING, ENUM, NETWORK, XML -> "text";
            case UUID -> "uuid";
            case BYTES -> "bytea";
            case BITS -> "bit varying";
            case JSON -> "jsonb";
            case DATE -> "date";
            case TIME -> "time without time zone";
            case TIMETZ -> "time with time zone";
            case TIMESTAMP -> "timestamp without time zone";
            case TIMESTAMPTZ -> "timestamp with time zone";
            case INTERVAL -> "interval";
            case ARRAY -> throw new IllegalArgumentException("arrays of arrays are nested lists of their element type");
        };
    }

    /**
     * How an existing column of type {@code existing} (as format_type gives it, modifiers included)
     * stands against {@code wanted}, the type the source column now maps to.
     */
    static Fit fit(String existing, String wanted) {
        boolean array = existing.endsWith("[]");
        if (array != wanted.endsWith("[]")) {
            return Fit.INCOMPATIBLE;
        }
        String have = base(array ? existing.substring(0, existing.length() - 2) : existing);
        String want = array ? wanted.substring(0, wanted.length() - 2) : wanted;
        if (have.equals(want)) {
            return Fit.FITS;
        }
        for (List<String> family : List.of(INTEGERS, FLOATS)) {
            int h = family.indexOf(have);
            int w = family.indexOf(want);
            if (h >= 0 && w >= 0) {
                return h >= w ? Fit.FITS : Fit.WIDEN;
            }
        }
        if (want.equals("text") && TEXTS.contains(have)) {
            return Fit.FITS;
        }
        if (want.equals("jsonb") && have.equals("json") || want.equals("bit varying") && have.equals("bit")) {
            return Fit.FITS;
        }
        return Fit.INCOMPATIBLE;
    }

    /** A type name without its modifier: {@code numeric(12,2)} is {@code numeric}. */
    private static String base(String type) {
        int paren = type.indexOf('(');
        String b = paren < 0 ? type : type.substring(0, paren).trim() + type.substring(type.indexOf(')') + 1);
        return b.toLowerCase(Locale.ROOT);
    }
}
