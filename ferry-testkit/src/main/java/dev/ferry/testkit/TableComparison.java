package dev.ferry.testkit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The replay check for database sinks: compares a source table with its copy in a PostgreSQL target
 * (a mirror), row by row and value by value, table to table, without going through any Ferry format.
 * Rows are matched by the source's primary key; each source column is compared as the text of its
 * value in both databases under the same session settings (ISO dates, UTC, ISO intervals, exact
 * floats), so a value equals when it means the same: JSON is compared as jsonb (key order and
 * duplicates normalised), arrays without their lower bounds (Ferry's arrays start at 1). Columns the
 * target has beyond the source (dropped at the source) are ignored.
 */
public final class TableComparison {
    private static final String SESSION = "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; "
            + "SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3; SET bytea_output = 'hex'";

    /** The outcome: {@link #ok()} when every row and value matches. */
    public record Result(String table, long rows, List<String> problems) {
        public boolean ok() {
            return problems.isEmpty();
        }

        @Override
        public String toString() {
            return table + ": " + rows + " rows" + (ok() ? ", equal to the source" : ", " + problems.size()
                    + " problems, first: " + problems.subList(0, Math.min(10, problems.size())));
        }
    }

    private TableComparison() {
    }

    /**
     * Compares {@code sourceTable} (in the source's database) with {@code targetTable}.
     *
     * @param sourceTable {@code schema.table}, plain names
     * @param targetTable {@code schema.table}, plain names
     */
    public static Result compare(Connection source, String sourceTable, Connection target, String targetTable)
            throws SQLException {
        String[] s = sourceTable.split("\\.", 2);
        String[] t = targetTable.split("\\.", 2);
        List<String[]> columns = new ArrayList<>(); // name, format_type
        List<String> key = new ArrayList<>();
        try (PreparedStatement ps = source.prepareStatement("SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
                + "coalesce(a.attnum = ANY (i.indkey), false) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
                + "WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
            ps.setString(1, s[0]);
            ps.setString(2, s[1]);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.add(new String[] {rs.getString(1), rs.getString(2)});
                    if (rs.getBoolean(3)) {
                        key.add(rs.getString(1));
                    }
                }
            }
        }
        if (columns.isEmpty() || key.isEmpty()) {
            throw new IllegalArgumentException(sourceTable + " does not exist or has no primary key");
        }
        List<String> problems = new ArrayList<>();
        Map<List<String>, List<String>> expected = read(source, s, columns, key, true);
        Map<List<String>, List<String>> actual = read(target, t, columns, key, false);
        for (Map.Entry<List<String>, List<String>> row : expected.entrySet()) {
            List<String> got = actual.remove(row.getKey());
            if (got == null) {
                problems.add(sourceTable + ": row " + row.getKey() + " is in the source but not in " + targetTable);
                continue;
            }
            for (int i = 0; i < columns.size(); i++) {
                if (!Objects.equals(row.getValue().get(i), got.get(i))) {
                    problems.add(sourceTable + ": row " + row.getKey() + " column " + columns.get(i)[0] + " ("
                            + columns.get(i)[1] + "): source " + show(row.getValue().get(i)) + ", target " + show(got.get(i)));
                }
            }
        }
        for (List<String> extra : actual.keySet()) {
            problems.add(sourceTable + ": row " + extra + " is in " + targetTable + " but not in the source");
        }
        return new Result(sourceTable, expected.size(), problems);
    }

    private static Map<List<String>, List<String>> read(Connection c, String[] table, List<String[]> columns,
                                                       List<String> key, boolean source) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT ");
        for (String k : key) {
            sql.append(quote(k)).append("::text, ");
        }
        for (int i = 0; i < columns.size(); i++) {
            String name = quote(columns.get(i)[0]);
            String type = columns.get(i)[1];
            // json keeps its text; Ferry writes it as jsonb: compare both as jsonb
            String value = source && type.equals("json") ? name + "::jsonb"
                    : source && type.equals("json[]") ? name + "::jsonb[]" : name;
            sql.append(i == 0 ? "" : ", ").append("CASE WHEN ").append(name).append(" IS NULL THEN NULL ELSE concat(")
                    .append(value).append(") END");
        }
        sql.append(" FROM ").append(quote(table[0])).append('.').append(quote(table[1]));
        Map<List<String>, List<String>> rows = new HashMap<>();
        boolean autoCommit = c.getAutoCommit();
        try (Statement st = c.createStatement()) {
            st.execute(SESSION);
            try (ResultSet rs = st.executeQuery(sql.toString())) {
                while (rs.next()) {
                    List<String> k = new ArrayList<>();
                    for (int i = 0; i < key.size(); i++) {
                        k.add(rs.getString(i + 1));
                    }
                    List<String> values = new ArrayList<>();
                    for (int i = 0; i < columns.size(); i++) {
                        String v = rs.getString(key.size() + i + 1);
                        if (v != null && columns.get(i)[1].endsWith("]")) {
                            v = v.replaceFirst("^(\\[-?\\d+:-?\\d+\\])+=", ""); // Ferry's arrays start at 1
                        }
                        values.add(v);
                    }
                    rows.put(k, values);
                }
            }
        } finally {
            if (!autoCommit) {
                c.rollback();
            }
        }
        return rows;
    }

    private static String quote(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    private static String show(String v) {
        if (v == null) {
            return "NULL";
        }
        return "\"" + (v.length() > 200 ? v.substring(0, 200) + "…(" + v.length() + " chars)" : v) + "\"";
    }
}
