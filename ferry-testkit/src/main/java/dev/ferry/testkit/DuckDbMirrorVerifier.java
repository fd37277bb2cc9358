package dev.ferry.testkit;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The replay check of the DuckDB sink, a sibling of {@link ReplayVerifier}: compares each mirror table
 * in a DuckDB file with its source table in PostgreSQL, row by row and value by value, and checks
 * that no history table holds an event twice. Both sides are read through plain JDBC (the caller
 * opens the DuckDB connection, so the testkit does not carry DuckDB's driver).
 *
 * <p>Values are compared by meaning, not by text: each side turns a value into a canonical form with
 * its own SQL, chosen by the mirror column's DuckDB type — integers and decimals as numbers,
 * floats as doubles (NaN and infinities included), timestamps as microseconds since 1970 (UTC for
 * timestamptz; infinity kept), dates as days, intervals as months, days and microseconds, bytes as
 * base64, JSON as a parsed tree, lists element by element, everything else as PostgreSQL's output text.
 */
public final class DuckDbMirrorVerifier {
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    private static final String SEPARATOR = "\u001f";
    private static final String NULL_ELEMENT = "\u2205";

    private DuckDbMirrorVerifier() {
    }

    /** How a column's canonical values compare. */
    private enum Kind { NUMBER, FLOAT, TEXT, BOOL, BYTES, DATE, TIMESTAMP, TIMESTAMPTZ, TIME, TIMETZ, INTERVAL, JSON }

    private record MirrorColumn(String name, Kind kind, boolean list) {
    }

    /**
     * Compares the mirror tables ({@code schema.table}) with the source; every column of the mirror
     * that the source still has is compared (columns the source dropped are not).
     */
    public static ReplayVerifier.Result verify(Connection duck, Connection pg, List<String> tables) throws SQLException {
        List<String> problems = new ArrayList<>();
        long rows = 0;
        long events = 0;
        for (String table : tables) {
            String[] parts = table.split("\\.", 2);
            List<String> sourceColumns = ReplayVerifier.columns(pg, parts[0], parts[1]).stream()
                    .map(ReplayVerifier.ColumnInfo::name).toList();
            List<MirrorColumn> columns = new ArrayList<>();
            for (MirrorColumn c : mirrorColumns(duck, parts[0], parts[1])) {
                if (sourceColumns.contains(c.name())) {
                    columns.add(c);
                }
            }
            if (columns.isEmpty()) {
                problems.add(table + ": no mirror table in DuckDB");
                continue;
            }
            List<String> key = ReplayVerifier.primaryKey(pg, parts[0], parts[1]);
            Map<List<String>, List<String>> source = read(pg, false, parts, columns, key);
            Map<List<String>, List<String>> mirror = read(duck, true, parts, columns, key);
            rows += source.size();
            for (Map.Entry<List<String>, List<String>> row : source.entrySet()) {
                List<String> got = mirror.remove(row.getKey());
                if (got == null) {
                    problems.add(table + ": row " + row.getKey() + " is in the source but not in the mirror");
                    continue;
                }
                for (int i = 0; i < columns.size(); i++) {
                    MirrorColumn c = columns.get(i);
                    if (!same(c, row.getValue().get(i), got.get(i))) {
                        problems.add(table + ": row " + row.getKey() + " column " + c.name() + ": source "
                                + row.getValue().get(i) + ", mirror " + got.get(i));
                    }
                }
            }
            for (List<String> extra : mirror.keySet()) {
                problems.add(table + ": row " + extra + " is in the mirror but not in the source");
            }
            events += historyProblems(duck, parts[0], parts[1], problems);
        }
        return new ReplayVerifier.Result(tables.size(), rows, events, problems);
    }

    /**
     * Checks a history table, if there is one: each Log offset once, each streamed source position
     * once. Returns its number of rows.
     */
    private static long historyProblems(Connection duck, String schema, String table, List<String> problems) throws SQLException {
        String history = quote(schema) + "." + quote(table + "__history");
        try (PreparedStatement ps = duck.prepareStatement("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?")) {
            ps.setString(1, schema);
            ps.setString(2, table + "__history");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (rs.getLong(1) == 0) {
                    return 0;
                }
            }
        }
        try (Statement s = duck.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*), count(DISTINCT _ferry_offset), "
                + "count(DISTINCT _ferry_position) FILTER (WHERE _ferry_position NOT LIKE 'snapshot%'), "
                + "count(*) FILTER (WHERE _ferry_position NOT LIKE 'snapshot%') FROM " + history)) {
            rs.next();
            if (rs.getLong(1) != rs.getLong(2)) {
                problems.add(schema + "." + table + "__history: " + rs.getLong(1) + " rows but " + rs.getLong(2) + " distinct Log offsets");
            }
            if (rs.getLong(3) != rs.getLong(4)) {
                problems.add(schema + "." + table + "__history: " + rs.getLong(4) + " streamed events but " + rs.getLong(3)
                        + " distinct source positions");
            }
            return rs.getLong(1);
        }
    }

    private static List<MirrorColumn> mirrorColumns(Connection duck, String schema, String table) throws SQLException {
        List<MirrorColumn> out = new ArrayList<>();
        try (PreparedStatement ps = duck.prepareStatement("SELECT column_name, data_type FROM duckdb_columns() "
                + "WHERE schema_name = ? AND table_name = ? ORDER BY column_index")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String type = rs.getString(2);
                    boolean list = type.endsWith("[]");
                    out.add(new MirrorColumn(rs.getString(1), kind(list ? type.substring(0, type.length() - 2) : type), list));
                }
            }
        }
        return out;
    }

    private static Kind kind(String duckType) {
        if (duckType.startsWith("DECIMAL") || duckType.matches("(TINY|SMALL|U?BIG|HUGE)?INT(EGER)?")) {
            return Kind.NUMBER;
        }
        return switch (duckType) {
            case "FLOAT", "DOUBLE" -> Kind.FLOAT;
            case "BOOLEAN" -> Kind.BOOL;
            case "BLOB" -> Kind.BYTES;
            case "DATE" -> Kind.DATE;
            case "TIMESTAMP" -> Kind.TIMESTAMP;
            case "TIMESTAMP WITH TIME ZONE" -> Kind.TIMESTAMPTZ;
            case "TIME" -> Kind.TIME;
            case "TIME WITH TIME ZONE" -> Kind.TIMETZ;
            case "INTERVAL" -> Kind.INTERVAL;
            case "JSON" -> Kind.JSON;
            default -> Kind.TEXT;
        };
    }

    private static Map<List<String>, List<String>> read(Connection db, boolean duck, String[] table, List<MirrorColumn> columns,
                                                        List<String> key) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT ");
        for (int i = 0; i < columns.size(); i++) {
            MirrorColumn c = columns.get(i);
            String q = quote(c.name());
            String expr;
            if (c.list()) {
                String element = "coalesce(" + canonical(c.kind(), "e", duck) + ", '" + NULL_ELEMENT + "')";
                expr = duck
                        ? "CASE WHEN " + q + " IS NULL THEN NULL ELSE array_to_string(list_transform(" + q + ", lambda e: "
                        + element + "), '" + SEPARATOR + "') END"
                        : "CASE WHEN " + q + " IS NULL THEN NULL ELSE coalesce((SELECT string_agg(" + element + ", '" + SEPARATOR
                        + "' ORDER BY o) FROM unnest(" + q + ") WITH ORDINALITY AS u(e, o)), '') END";
            } else {
                expr = canonical(c.kind(), q, duck);
            }
            sql.append(i == 0 ? "" : ", ").append(expr);
        }
        sql.append(" FROM ").append(quote(table[0])).append('.').append(quote(table[1]));
        Map<List<String>, List<String>> out = new LinkedHashMap<>();
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(sql.toString())) {
            while (rs.next()) {
                List<String> values = new ArrayList<>();
                for (int i = 0; i < columns.size(); i++) {
                    values.add(rs.getString(i + 1));
                }
                List<String> k = new ArrayList<>();
                for (String kc : key) {
                    for (int i = 0; i < columns.size(); i++) {
                        if (columns.get(i).name().equals(kc)) {
                            k.add(values.get(i));
                        }
                    }
                }
                out.put(k, values);
            }
        }
        return out;
    }

    /** The SQL giving a value's canonical text on either side. */
    private static String canonical(Kind kind, String x, boolean duck) {
        String text = duck ? "CAST(" + x + " AS VARCHAR)" : x + "::text";
        return switch (kind) {
            case NUMBER, FLOAT, BOOL, TIMETZ, JSON -> text;
            // the type's output function: ::text would drop char(n)'s padding
            case TEXT -> duck ? text : "CASE WHEN " + x + " IS NULL THEN NULL ELSE concat(" + x + ") END";
            case BYTES -> duck ? "to_base64(" + x + ")" : "translate(encode(" + x + ", 'base64'), E'\\n', '')";
            case DATE -> "CASE WHEN isfinite(" + x + ") THEN " + (duck ? "CAST(" + x + " - DATE '1970-01-01' AS VARCHAR)"
                    : "(" + x + " - date '1970-01-01')::text") + " ELSE " + text + " END";
            case TIMESTAMP, TIMESTAMPTZ -> {
                String utc = kind == Kind.TIMESTAMPTZ && !duck ? "(" + x + " AT TIME ZONE 'UTC')" : x;
                yield "CASE WHEN isfinite(" + x + ") THEN " + (duck ? "CAST(epoch_us(" + x + ") AS VARCHAR)"
                        : "((" + utc + "::date - date '1970-01-01')::numeric * 86400000000 + extract(epoch FROM " + utc
                        + "::time) * 1000000)::bigint::text") + " ELSE " + text + " END";
            }
            case TIME -> duck ? "CAST(datepart('hour', " + x + ") * 3600000000 + datepart('minute', " + x + ") * 60000000 + "
                    + "datepart('microsecond', " + x + ") AS VARCHAR)" : "(extract(epoch FROM " + x + ") * 1000000)::bigint::text";
            case INTERVAL -> duck
                    ? "CAST(datepart('year', " + x + ") * 12 + datepart('month', " + x + ") AS VARCHAR) || ' ' || "
                    + "CAST(datepart('day', " + x + ") AS VARCHAR) || ' ' || CAST(datepart('hour', " + x + ") * 3600000000 + "
                    + "datepart('minute', " + x + ") * 60000000 + datepart('microsecond', " + x + ") AS VARCHAR)"
                    : "(extract(year FROM " + x + ") * 12 + extract(month FROM " + x + "))::bigint::text || ' ' || "
                    + "extract(day FROM " + x + ")::bigint::text || ' ' || (extract(hour FROM " + x + ") * 3600000000 + "
                    + "extract(minute FROM " + x + ") * 60000000 + extract(microseconds FROM " + x + "))::bigint::text";
        };
    }

    private static boolean same(MirrorColumn c, String source, String mirror) {
        if (source == null || mirror == null) {
            return source == null && mirror == null;
        }
        if (!c.list()) {
            return sameValue(c.kind(), source, mirror);
        }
        String[] a = source.split(SEPARATOR, -1);
        String[] b = mirror.split(SEPARATOR, -1);
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            boolean nullA = a[i].equals(NULL_ELEMENT);
            boolean nullB = b[i].equals(NULL_ELEMENT);
            if (nullA != nullB || !nullA && !sameValue(c.kind(), a[i], b[i])) {
                return false;
            }
        }
        return true;
    }

    private static boolean sameValue(Kind kind, String a, String b) {
        try {
            return switch (kind) {
                case NUMBER -> a.equals(b) || new BigDecimal(a).compareTo(new BigDecimal(b)) == 0;
                case FLOAT -> Double.compare(parseDouble(a), parseDouble(b)) == 0;
                case JSON -> JSON.readTree(a).equals(JSON.readTree(b));
                default -> Objects.equals(a, b);
            };
        } catch (Exception e) {
            return false;
        }
    }

    private static double parseDouble(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "nan" -> Double.NaN;
            case "inf", "infinity" -> Double.POSITIVE_INFINITY;
            case "-inf", "-infinity" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(s);
        };
    }

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }
}
