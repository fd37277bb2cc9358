package dev.ferry.postgres;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import java.util.HashMap;
import java.util.Map;

/**
 * Built-in PostgreSQL types by OID: their logical type and their name as {@code format_type} spells
 * it. A type this table does not know (an enum, a domain, an extension's type) is carried as text
 * under the name the catalog or the pgoutput type message gives.
 */
final class PgTypes {
    private record Builtin(String name, LogicalType type, int elementOid) {
    }

    private static final Map<Integer, Builtin> BUILTINS = new HashMap<>();

    private static void scalar(int oid, String name, LogicalType type) {
        BUILTINS.put(oid, new Builtin(name, type, 0));
    }

    private static void array(int oid, int elementOid) {
        BUILTINS.put(oid, new Builtin(null, LogicalType.ARRAY, elementOid));
    }

    static {
        scalar(16, "boolean", LogicalType.BOOLEAN);
        scalar(17, "bytea", LogicalType.BYTES);
        scalar(18, "\"char\"", LogicalType.STRING);
        scalar(19, "name", LogicalType.STRING);
        scalar(20, "bigint", LogicalType.INT64);
        scalar(21, "smallint", LogicalType.INT16);
        scalar(23, "integer", LogicalType.INT32);
        scalar(25, "text", LogicalType.STRING);
        scalar(26, "oid", LogicalType.INT64);
        scalar(114, "json", LogicalType.JSON);
        scalar(142, "xml", LogicalType.XML);
        scalar(650, "cidr", LogicalType.NETWORK);
        scalar(700, "real", LogicalType.FLOAT32);
        scalar(701, "double precision", LogicalType.FLOAT64);
        scalar(790, "money", LogicalType.STRING);
        scalar(829, "macaddr", LogicalType.NETWORK);
        scalar(869, "inet", LogicalType.NETWORK);
        scalar(774, "macaddr8", LogicalType.NETWORK);
        scalar(1042, "character", LogicalType.STRING);
        scalar(1043, "character varying", LogicalType.STRING);
        scalar(1082, "date", LogicalType.DATE);
        scalar(1083, "time without time zone", LogicalType.TIME);
        scalar(1114, "timestamp without time zone", LogicalType.TIMESTAMP);
        scalar(1184, "timestamp with time zone", LogicalType.TIMESTAMPTZ);
        scalar(1186, "interval", LogicalType.INTERVAL);
        scalar(1266, "time with time zone", LogicalType.TIMETZ);
        scalar(1560, "bit", LogicalType.BITS);
        scalar(1562, "bit varying", LogicalType.BITS);
        scalar(1700, "numeric", LogicalType.DECIMAL);
        scalar(2950, "uuid", LogicalType.UUID);
        scalar(3802, "jsonb", LogicalType.JSON);
        array(1000, 16);
        array(1001, 17);
        array(1005, 21);
        array(1007, 23);
        array(1016, 20);
        array(1009, 25);
        array(1014, 1042);
        array(1015, 1043);
        array(1021, 700);
        array(1022, 701);
        array(1231, 1700);
        array(1182, 1082);
        array(1115, 1114);
        array(1185, 1184);
        array(2951, 2950);
        array(199, 114);
        array(3807, 3802);
        array(1041, 869);
        scalar(3614, "tsvector", LogicalType.STRING);
        array(1183, 1083);
        array(1270, 1266);
        array(1187, 1186);
        array(1561, 1560);
        array(1563, 1562);
        array(791, 790);
        array(143, 142);
        array(651, 650);
        array(1040, 829);
        array(775, 774);
        array(1002, 18);
        array(1003, 19);
        array(1028, 26);
        array(3643, 3614);
    }

    private PgTypes() {
    }

    /**
     * The column for a table attribute.
     *
     * @param fallbackName the type's name from the catalog or a pgoutput type message, used when the
     *                     OID is not a built-in type; may be null
     */
    static Column column(String name, int oid, int typmod, String fallbackName, boolean key) {
        Builtin b = BUILTINS.get(oid);
        if (b == null) {
            return Column.of(name, LogicalType.STRING, fallbackName != null ? fallbackName : "oid " + oid, key);
        }
        if (b.type == LogicalType.ARRAY) {
            Builtin element = BUILTINS.get(b.elementOid);
            return new Column(name, LogicalType.ARRAY, element.type, withModifier(element.name, b.elementOid, typmod) + "[]", key);
        }
        return Column.of(name, b.type, withModifier(b.name, oid, typmod), key);
    }

    /** A non-built-in type as the catalog describes it (pg_type). */
    record UserType(String name, char typtype, char category, int elementOid, int baseOid) {
    }

    /** Looks a non-built-in type up in the catalog; null when the OID is unknown. */
    @FunctionalInterface
    interface TypeLookup {
        UserType describe(int oid) throws java.sql.SQLException;
    }

    /**
     * The column for a table attribute, resolving non-built-in types through the catalog: a domain
     * means what its base type means (under the domain's name), an enum is ENUM, an array of any of
     * them is an ARRAY of its element's meaning; other types (composites, ranges, extensions) are text.
     * Snapshot and stream both resolve through here, so their schemas agree.
     */
    static Column column(String name, int oid, int typmod, boolean key, TypeLookup lookup) throws java.sql.SQLException {
        if (BUILTINS.containsKey(oid) || lookup == null) {
            return column(name, oid, typmod, null, key);
        }
        UserType t = lookup.describe(oid);
        if (t == null) {
            return Column.of(name, LogicalType.STRING, "oid " + oid, key);
        }
        if (t.typtype() == 'd' && t.baseOid() != 0) {
            Column base = column(name, t.baseOid(), -1, key, lookup);
            return new Column(name, base.type(), base.elementType(), t.name(), key);
        }
        if (t.typtype() == 'e') {
            return Column.of(name, LogicalType.ENUM, t.name(), key);
        }
        if (t.category() == 'A' && t.elementOid() != 0) {
            Column element = column(name, t.elementOid(), -1, key, lookup);
            LogicalType elementType = element.type() == LogicalType.ARRAY ? LogicalType.STRING : element.type();
            return new Column(name, LogicalType.ARRAY, elementType, t.name(), key);
        }
        return Column.of(name, LogicalType.STRING, t.name(), key);
    }

    /** The type name with its modifier, as format_type writes it: numeric(12,2), character varying(20). */
    private static String withModifier(String name, int oid, int typmod) {
        if (typmod < 0) {
            // without a length (a column declared bpchar, or "bit" quoted), as format_type writes them:
            // "character" and bit alone mean character(1) and bit(1), and a cast to them (a chunk's key
            // bound) would cut the value to its first letter or bit
            return switch (oid) {
                case 1042 -> "bpchar";
                case 1560 -> "\"bit\"";
                default -> name;
            };
        }
        return switch (oid) {
            case 1700 -> {
                int t = typmod - 4;
                // the scale is an 11-bit two's complement field: PostgreSQL 15+ allows numeric(3,-2)
                yield name + "(" + ((t >> 16) & 0xFFFF) + "," + (((t & 0x7FF) ^ 1024) - 1024) + ")";
            }
            case 1042, 1043 -> name + "(" + (typmod - 4) + ")";
            case 1560, 1562 -> name + "(" + typmod + ")";
            default -> name;
        };
    }
}
