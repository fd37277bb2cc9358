package dev.ferry.testkit;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The replay check of the CSV and Parquet sinks: loads each table's history files into DuckDB
 * ({@code read_parquet} / {@code read_csv}), replays them by key into a mirror table — the last
 * change of each key after the last truncate, deletes removing it, a column listed in
 * {@code _ferry_unchanged} keeping the key's previous value, an update that changed the key
 * ({@code _ferry_before_<key>} columns) removing the old key and continuing its values — and hands both to
 * {@link DuckDbMirrorVerifier}, which compares the mirror with the source value by value and checks
 * that no Log offset or source position is in the history twice. The caller opens the DuckDB
 * connection (in memory will do), so the testkit does not carry DuckDB's driver.
 *
 * <p>Values come back to the duckdb sink's types (so the verifier compares them by meaning): a CSV
 * field from its text, a Parquet column written as text (uuid, time, timetz, interval, json) by a cast;
 * ISO-8601 intervals by the macro {@code ferry_iso_interval}, as DuckDB does not parse them. The
 * Parquet sink's mirror files are compared the same way ({@link #verifyMirror}).
 */
public final class FileHistoryReplay {
    /** The prefix of the history's old-key columns ({@code _ferry_before_id}). */
    private static final String BEFORE_KEY = "_ferry_before_";
    private static final Pattern NUMERIC = Pattern.compile("numeric\\((\\d+),(\\d+)\\)");

    /** The sink's file format. */
    public enum Format { PARQUET, CSV }

    private FileHistoryReplay() {
    }

    /**
     * Rebuilds {@code schema.table} and {@code schema.table__history} in {@code duck} from the files
     * under {@code root}, then compares them with the source.
     *
     * @param tables {@code schema.table}, plain names; each needs a primary key at the source
     */
    public static ReplayVerifier.Result verify(Connection duck, Connection pg, Path root, Format format, List<String> tables)
            throws SQLException {
        try (Statement s = duck.createStatement()) {
            createIntervalMacro(s);
            for (String table : tables) {
                String[] parts = table.split("\\.", 2);
                load(s, pg, root, format, parts[0], parts[1]);
            }
        }
        return DuckDbMirrorVerifier.verify(duck, pg, tables);
    }

    private static void createIntervalMacro(Statement s) throws SQLException {
        s.execute("CREATE OR REPLACE MACRO ferry_iso_interval(s) AS CASE WHEN s IS NULL THEN NULL ELSE "
                + "to_months(" + part("split_part(s, 'T', 1)", "Y") + " * 12 + " + part("split_part(s, 'T', 1)", "M") + ") + "
                + "to_days(" + part("split_part(s, 'T', 1)", "W") + " * 7 + " + part("split_part(s, 'T', 1)", "D") + ") + "
                + "to_microseconds(" + part("split_part(s, 'T', 2)", "H") + " * 3600000000 + " + part("split_part(s, 'T', 2)", "M")
                + " * 60000000 + coalesce(CAST(round(TRY_CAST(regexp_extract(split_part(s, 'T', 2), '(-?[0-9]+(\\.[0-9]+)?)S', 1) "
                + "AS DECIMAL(38,6)) * 1000000) AS BIGINT), 0)) END");
    }

    /**
     * Compares a mirror file of the Parquet sink ({@code _ferry_mirror/<schema.table>/<offset>.parquet})
     * with the source table, value by value.
     */
    public static ReplayVerifier.Result verifyMirror(Connection duck, Connection pg, Path mirrorFile, String table)
            throws SQLException {
        String[] parts = table.split("\\.", 2);
        try (Statement s = duck.createStatement()) {
            createIntervalMacro(s);
            StringJoiner typed = new StringJoiner(", ");
            for (String[] c : columns(pg, parts[0], parts[1])) {
                typed.add(typed(c[1], quote(c[0]), Format.PARQUET) + " AS " + quote(c[0]));
            }
            s.execute("CREATE SCHEMA IF NOT EXISTS " + quote(parts[0]));
            s.execute("CREATE OR REPLACE TABLE " + quote(parts[0]) + "." + quote(parts[1]) + " AS SELECT " + typed
                    + " FROM read_parquet('" + mirrorFile + "')");
        }
        return DuckDbMirrorVerifier.verify(duck, pg, List.of(table));
    }

    private static String part(String text, String unit) {
        return "coalesce(TRY_CAST(regexp_extract(" + text + ", '(-?[0-9]+)" + unit + "', 1) AS BIGINT), 0)";
    }

    private static void load(Statement s, Connection pg, Path root, Format format, String schema, String table) throws SQLException {
        String files = "'" + root.resolve(schema + "." + table) + "/**/*." + (format == Format.CSV ? "csv" : "parquet") + "'";
        String source = format == Format.CSV
                ? "read_csv(" + files + ", header = true, all_varchar = true, allow_quoted_nulls = false, delim = ',', quote = '\"', "
                + "escape = '\"', union_by_name = true)"
                : "read_parquet(" + files + ", union_by_name = true)";
        List<String> key = ReplayVerifier.primaryKey(pg, schema, table);
        List<String[]> columns = columns(pg, schema, table);
        s.execute("CREATE SCHEMA IF NOT EXISTS " + quote(schema));
        StringJoiner typed = new StringJoiner(", ");
        typed.add("CAST(_ferry_offset AS BIGINT) AS _ferry_offset").add("_ferry_op").add("_ferry_position")
                .add((format == Format.CSV ? "CAST(CAST(_ferry_unchanged AS JSON) AS VARCHAR[])" : "_ferry_unchanged") + " AS _ferry_unchanged");
        for (String[] c : columns) {
            typed.add(typed(c[1], quote(c[0]), format) + " AS " + quote(c[0]));
        }
        // the old key of a key-changing update; files written before these columns existed lack them
        List<String> inFiles = new ArrayList<>();
        try (ResultSet rs = s.executeQuery("SELECT column_name FROM (DESCRIBE SELECT * FROM " + source + ")")) {
            while (rs.next()) {
                inFiles.add(rs.getString(1));
            }
        }
        boolean moves = key.stream().allMatch(k -> inFiles.contains(BEFORE_KEY + k));
        StringJoiner beforeKey = new StringJoiner(", ", "row(", ")");
        for (String k : moves ? key : List.<String>of()) {
            String type = columns.stream().filter(c -> c[0].equals(k)).findFirst().orElseThrow()[1];
            typed.add(typed(type, quote(BEFORE_KEY + k), format) + " AS " + quote(BEFORE_KEY + k));
            beforeKey.add(quote(BEFORE_KEY + k));
        }
        String history = quote(schema) + "." + quote(table + "__history");
        s.execute("CREATE OR REPLACE TABLE " + history + " AS SELECT " + typed + " FROM " + source);
        if (moves) {
            resolveMovedUnchanged(s, history, key, beforeKey.toString());
        }
        StringJoiner partition = new StringJoiner(", ");
        key.forEach(k -> partition.add(quote(k)));
        StringJoiner carried = new StringJoiner(", ");
        StringJoiner values = new StringJoiner(", ");
        for (String[] c : columns) {
            String q = quote(c[0]);
            // the last value the source sent for the key: unchanged TOAST columns keep the one before
            carried.add("last_value(CASE WHEN NOT list_contains(coalesce(_ferry_unchanged, []), '" + c[0].replace("'", "''")
                    + "') THEN {'v': " + q + "} END IGNORE NULLS) OVER (PARTITION BY " + partition + " ORDER BY _ferry_offset "
                    + "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS " + q);
            values.add(q + ".v AS " + q);
        }
        s.execute("CREATE OR REPLACE TABLE " + quote(schema) + "." + quote(table) + " AS WITH h AS (SELECT * FROM " + history
                + " WHERE _ferry_offset > coalesce((SELECT max(_ferry_offset) FROM " + history + " WHERE _ferry_op = 't'), -1) "
                + "AND _ferry_op <> 't'), w AS (SELECT _ferry_offset, _ferry_op, row(" + partition + ") AS _ferry_key, " + carried
                + " FROM h) SELECT " + values + " FROM w WHERE _ferry_op <> 'd' AND _ferry_offset IN (SELECT max(_ferry_offset) "
                // not QUALIFY row_number(): DuckDB 2.0 turns -0.0 inside lists into 0.0 there
                + "FROM w GROUP BY _ferry_key)"
                // a key's newest row goes when a later update moved the row to another key
                + (moves ? " AND NOT EXISTS (SELECT 1 FROM h WHERE " + quote(BEFORE_KEY + key.get(0)) + " IS NOT NULL AND "
                + beforeKey + " = w._ferry_key AND h._ferry_offset > w._ferry_offset)" : ""));
    }

    /**
     * A key change that left a column unsent (unchanged TOAST) continues the old key's row: the value
     * is the old key's newest one before it. Resolved in Log order, so that along a chain of key
     * changes the first key's value travels on; the column then leaves {@code _ferry_unchanged}.
     */
    private static void resolveMovedUnchanged(Statement s, String history, List<String> key, String beforeKey) throws SQLException {
        List<Object[]> moved = new ArrayList<>();
        try (ResultSet rs = s.executeQuery("SELECT _ferry_offset, _ferry_unchanged FROM " + history + " WHERE "
                + quote(BEFORE_KEY + key.get(0)) + " IS NOT NULL AND len(coalesce(_ferry_unchanged, [])) > 0 ORDER BY _ferry_offset")) {
            while (rs.next()) {
                moved.add(new Object[] {rs.getLong(1), rs.getArray(2).getArray()});
            }
        }
        StringJoiner oldKey = new StringJoiner(", ", "row(", ")");
        key.forEach(k -> oldKey.add("o." + quote(k)));
        for (Object[] m : moved) {
            for (Object column : (Object[]) m[1]) {
                String c = quote((String) column);
                String name = "'" + ((String) column).replace("'", "''") + "'";
                s.execute("UPDATE " + history + " SET " + c + " = (SELECT o." + c + " FROM " + history + " o WHERE " + oldKey + " = (SELECT "
                        + beforeKey + " FROM " + history + " WHERE _ferry_offset = " + m[0] + ") AND o._ferry_offset < " + m[0] + " AND NOT list_contains(coalesce(o._ferry_unchanged, []), "
                        + name + ") ORDER BY o._ferry_offset DESC LIMIT 1), _ferry_unchanged = list_filter(_ferry_unchanged, "
                        + "lambda u: u <> " + name + ") WHERE _ferry_offset = " + m[0]);
            }
        }
    }

    /** A column's DuckDB type (as the duckdb sink has it) from the file's value. */
    private static String typed(String pgType, String x, Format format) {
        boolean array = pgType.endsWith("[]");
        String base = array ? pgType.substring(0, pgType.length() - 2) : pgType;
        String duckType = duckType(base);
        boolean fromText = format == Format.CSV || List.of("UUID", "TIME", "TIME WITH TIME ZONE", "INTERVAL", "JSON").contains(duckType);
        if (!fromText) {
            return x;
        }
        if (!array) {
            return fromText(duckType, format == Format.CSV ? x : "CAST(" + x + " AS VARCHAR)");
        }
        String list = format == Format.CSV ? "CAST(CAST(" + x + " AS JSON) AS VARCHAR[])" : x;
        return "list_transform(" + list + ", lambda e: " + fromText(duckType, "e") + ")";
    }

    private static String fromText(String duckType, String text) {
        return switch (duckType) {
            case "BLOB" -> "from_base64(" + text + ")";
            case "INTERVAL" -> "ferry_iso_interval(" + text + ")";
            case "VARCHAR" -> text;
            // java.time writes years past 9999 with a '+', which DuckDB does not read
            case "DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE" -> "CAST(ltrim(" + text + ", '+') AS " + duckType + ")";
            default -> "CAST(" + text + " AS " + duckType + ")";
        };
    }

    private static String duckType(String pgType) {
        Matcher m = NUMERIC.matcher(pgType);
        if (m.matches()) {
            return Integer.parseInt(m.group(1)) <= 38 ? "DECIMAL(" + m.group(1) + "," + m.group(2) + ")" : "VARCHAR";
        }
        return switch (pgType.replaceAll("\\(\\d+\\)", "").toLowerCase(Locale.ROOT)) {
            case "smallint" -> "SMALLINT";
            case "integer" -> "INTEGER";
            case "bigint" -> "BIGINT";
            case "real" -> "FLOAT";
            case "double precision" -> "DOUBLE";
            case "boolean" -> "BOOLEAN";
            case "bytea" -> "BLOB";
            case "date" -> "DATE";
            case "time without time zone" -> "TIME";
            case "time with time zone" -> "TIME WITH TIME ZONE";
            case "timestamp without time zone" -> "TIMESTAMP";
            case "timestamp with time zone" -> "TIMESTAMP WITH TIME ZONE";
            case "interval" -> "INTERVAL";
            case "uuid" -> "UUID";
            case "json", "jsonb" -> "JSON";
            default -> "VARCHAR";
        };
    }

    /** Name and format_type of each column of a PostgreSQL table. */
    private static List<String[]> columns(Connection pg, String schema, String table) throws SQLException {
        List<String[]> out = new ArrayList<>();
        try (PreparedStatement ps = pg.prepareStatement("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                + "WHERE a.attrelid = (quote_ident(?) || '.' || quote_ident(?))::regclass AND a.attnum > 0 AND NOT a.attisdropped "
                + "ORDER BY a.attnum")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new String[] {rs.getString(1), rs.getString(2)});
                }
            }
        }
        return out;
    }

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }
}
