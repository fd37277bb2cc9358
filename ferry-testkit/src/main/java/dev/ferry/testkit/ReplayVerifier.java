package dev.ferry.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The replay check: applies the JSONL sink's events by primary key and compares the result with
 * the source tables, row by row and value by value. It also proves that no event is duplicated
 * (each source position appears once) and none is missing inside a transaction (each transaction's
 * event indexes run 0..n-1 without a gap). Values are compared by meaning, read from the database
 * through JDBC's own types, independently of Ferry's conversions.
 */
public final class ReplayVerifier {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** The outcome: {@link #ok()} when every table matches and no event is duplicated or missing. */
    public record Result(int tables, long rows, long events, List<String> problems) {
        public boolean ok() {
            return problems.isEmpty();
        }

        @Override
        public String toString() {
            return tables + " tables, " + rows + " rows, " + events + " events"
                    + (ok() ? ": all equal to the source" : ": " + problems.size() + " problems, first: "
                    + problems.subList(0, Math.min(10, problems.size())));
        }
    }

    record ColumnInfo(String name, String dataType) {
    }

    private ReplayVerifier() {
    }

    /** Verifies the tables ({@code schema.table}) of a JSONL output folder against the database. */
    public static Result verify(Path jsonlRoot, Connection db, List<String> tables) throws SQLException, IOException {
        return verify(jsonlRoot, db, tables, Map.of());
    }

    /**
     * Verifies as above, replaying like a sink that applies column renames: {@code renamed} maps a
     * table ({@code schema.table}) to its renamed columns, new name to old name; an event written
     * before the rename carries the value under the old name.
     */
    public static Result verify(Path jsonlRoot, Connection db, List<String> tables, Map<String, Map<String, String>> renamed)
            throws SQLException, IOException {
        List<String> problems = new ArrayList<>();
        Set<String> positions = new HashSet<>();
        Map<String, BitSet> txIndexes = new HashMap<>();
        boolean mysql = isMySql(db);
        BitSet snapshotIndexes = new BitSet();
        long events = 0;
        long rows = 0;
        for (String table : tables) {
            String[] parts = table.split("\\.", 2);
            Map<String, String> oldNames = renamed.getOrDefault(table, Map.of());
            List<ColumnInfo> columns = columns(db, parts[0], parts[1]);
            List<String> key = primaryKey(db, mysql, parts[0], parts[1]);
            Map<List<Object>, JsonNode> replayed = new LinkedHashMap<>();
            Path dir = jsonlRoot.resolve(table);
            List<Path> files = new ArrayList<>();
            if (Files.isDirectory(dir)) {
                try (Stream<Path> s = Files.list(dir)) {
                    s.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().forEach(files::add);
                }
            }
            for (Path f : files) {
                try (BufferedReader r = Files.newBufferedReader(f)) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        if (line.isBlank()) {
                            continue;
                        }
                        events++;
                        JsonNode e = MAPPER.readTree(line);
                        JsonNode src = e.get("source");
                        boolean snapshot = src.get("snapshot").asBoolean();
                        String lsn = transaction(src);
                        int index = src.get("index").asInt();
                        if (!positions.add((snapshot ? "s" : "") + lsn + "#" + index)) {
                            problems.add(table + ": duplicate event at " + lsn + " index " + index + " in " + f.getFileName());
                        }
                        if (snapshot) {
                            snapshotIndexes.set(index);
                        } else {
                            txIndexes.computeIfAbsent(lsn, k -> new BitSet()).set(index);
                        }
                        apply(e, key, columns, oldNames, replayed);
                    }
                }
            }
            Map<List<Object>, List<Object>> expected = new LinkedHashMap<>();
            readTable(db, mysql, parts[0], parts[1], columns, key, expected);
            rows += expected.size();
            for (Map.Entry<List<Object>, List<Object>> row : expected.entrySet()) {
                JsonNode got = replayed.remove(row.getKey());
                if (got == null) {
                    problems.add(table + ": row " + row.getKey() + " is in the source but not in the sink");
                    continue;
                }
                List<Object> gotValues = new ArrayList<>();
                for (ColumnInfo c : columns) {
                    gotValues.add(fromJson(c, field(got, c.name(), oldNames)));
                }
                if (!gotValues.equals(row.getValue())) {
                    problems.add(table + ": row " + row.getKey() + " differs: source " + row.getValue() + ", sink " + gotValues);
                }
            }
            for (List<Object> extra : replayed.keySet()) {
                problems.add(table + ": row " + extra + " is in the sink but not in the source");
            }
        }
        // events of tables not checked (dropped since, or left out) still fill the index sequences
        if (Files.isDirectory(jsonlRoot)) {
            List<Path> others;
            try (Stream<Path> s = Files.list(jsonlRoot)) {
                others = s.filter(d -> Files.isDirectory(d) && !d.getFileName().toString().startsWith("_")
                        && !tables.contains(d.getFileName().toString())).sorted().toList();
            }
            for (Path other : others) {
                markPositions(other, snapshotIndexes, txIndexes);
            }
        }
        for (Map.Entry<String, BitSet> tx : txIndexes.entrySet()) {
            BitSet b = tx.getValue();
            if (b.nextClearBit(0) != b.length()) {
                problems.add("transaction at " + tx.getKey() + " is missing event index " + b.nextClearBit(0));
            }
        }
        if (snapshotIndexes.nextClearBit(0) != snapshotIndexes.length()) {
            problems.add("snapshot is missing row index " + snapshotIndexes.nextClearBit(0));
        }
        return new Result(tables.size(), rows, events, problems);
    }

    /**
     * The transaction an event belongs to: {@code lsn 123} (PostgreSQL), {@code file:pos} (MySQL, where
     * {@code pos} is where the transaction starts), {@code run 7} (a JDBC source's batch run, whose event
     * indexes run across its tables).
     */
    private static String transaction(JsonNode src) {
        if (src.has("run")) {
            return "run " + src.get("run").asLong();
        }
        return src.has("lsn") ? "lsn " + src.get("lsn").asLong() : src.get("file").asText() + ":" + src.get("pos").asLong();
    }

    private static boolean isMySql(Connection db) throws SQLException {
        String product = db.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT);
        return product.contains("mysql") || product.contains("mariadb");
    }

    private static void markPositions(Path tableDir, BitSet snapshotIndexes, Map<String, BitSet> txIndexes)
            throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(tableDir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList();
        }
        for (Path f : files) {
            for (String line : Files.readAllLines(f)) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode src = MAPPER.readTree(line).get("source");
                int index = src.get("index").asInt();
                if (src.get("snapshot").asBoolean()) {
                    snapshotIndexes.set(index);
                } else {
                    txIndexes.computeIfAbsent(transaction(src), k -> new BitSet()).set(index);
                }
            }
        }
    }

    private static void apply(JsonNode e, List<String> key, List<ColumnInfo> columns, Map<String, String> oldNames,
                              Map<List<Object>, JsonNode> rows) {
        String op = e.get("op").asText();
        switch (op) {
            case "r", "c", "u" -> {
                JsonNode before = e.get("before");
                JsonNode after = e.get("after");
                // the row before: under the old key when the update changed the key
                JsonNode old = op.equals("u") && before != null && !before.isNull()
                        ? rows.remove(keyOf(before, key, columns, oldNames)) : null;
                if (old == null) {
                    old = rows.get(keyOf(after, key, columns, oldNames));
                }
                JsonNode merged = after;
                JsonNode unchanged = e.get("unchanged");
                if (unchanged != null && unchanged.size() > 0) {
                    // unchanged TOAST columns keep the value the row already had, across a key change too
                    com.fasterxml.jackson.databind.node.ObjectNode m = after.deepCopy();
                    for (JsonNode name : unchanged) {
                        m.set(name.asText(), old == null ? null : field(old, name.asText(), oldNames));
                    }
                    merged = m;
                }
                rows.put(keyOf(after, key, columns, oldNames), merged);
            }
            case "d" -> rows.remove(keyOf(e.get("before"), key, columns, oldNames));
            case "t" -> rows.clear();
            default -> throw new IllegalArgumentException("unknown op " + op);
        }
    }

    private static List<Object> keyOf(JsonNode row, List<String> key, List<ColumnInfo> columns,
                                      Map<String, String> oldNames) {
        List<Object> out = new ArrayList<>();
        for (String k : key) {
            ColumnInfo c = columns.stream().filter(ci -> ci.name().equals(k)).findFirst().orElseThrow();
            out.add(fromJson(c, field(row, k, oldNames)));
        }
        return out;
    }

    /** A row's value of a column, under its old name when the row was written before a rename. */
    private static JsonNode field(JsonNode row, String column, Map<String, String> oldNames) {
        JsonNode v = row.get(column);
        if (v == null && oldNames.containsKey(column)) {
            return row.get(oldNames.get(column));
        }
        return v;
    }

    static List<ColumnInfo> columns(Connection db, String schema, String table) throws SQLException {
        List<ColumnInfo> out = new ArrayList<>();
        try (PreparedStatement ps = db.prepareStatement("SELECT column_name, data_type FROM information_schema.columns "
                + "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new ColumnInfo(rs.getString(1), rs.getString(2)));
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no table " + schema + "." + table);
        }
        return out;
    }

    /** The primary key's columns in key order (PostgreSQL: not the index's INCLUDE ones; MySQL: the PRIMARY constraint). */
    /** The primary key's columns of a PostgreSQL table, in key order. */
    static List<String> primaryKey(Connection db, String schema, String table) throws SQLException {
        return primaryKey(db, false, schema, table);
    }

    static List<String> primaryKey(Connection db, boolean mysql, String schema, String table) throws SQLException {
        String sql = mysql ? "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? "
                + "AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION"
                : "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                + "ON a.attrelid = i.indrelid AND a.attnum = ANY (ARRAY(SELECT u.attnum FROM unnest(i.indkey) "
                + "WITH ORDINALITY AS u(attnum, ord) WHERE u.ord <= i.indnkeyatts)) WHERE i.indisprimary AND i.indrelid = "
                + "(quote_ident(?) || '.' || quote_ident(?))::regclass ORDER BY a.attnum";
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = db.prepareStatement(sql)) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(schema + "." + table + " has no primary key; the replay check needs one");
        }
        return out;
    }

    private static void readTable(Connection db, boolean mysql, String schema, String table, List<ColumnInfo> columns,
                                  List<String> key, Map<List<Object>, List<Object>> out) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT ");
        String quote = mysql ? "`" : "\"";
        for (int i = 0; i < columns.size(); i++) {
            ColumnInfo c = columns.get(i);
            String q = quote + c.name().replace(quote, quote + quote) + quote;
            boolean asJson = !mysql && (c.dataType().equals("ARRAY") || c.dataType().startsWith("json"));
            // MySQL TIMESTAMP: compared as the instant, read in epoch seconds whatever the session's time zone
            String expression = asJson ? "to_json(" + q + ")::text"
                    : mysql && c.dataType().equals("timestamp") ? "UNIX_TIMESTAMP(" + q + ")" : q;
            sql.append(i == 0 ? "" : ", ").append(expression);
        }
        sql.append(" FROM ").append(quote).append(schema.replace(quote, quote + quote)).append(quote).append('.')
                .append(quote).append(table.replace(quote, quote + quote)).append(quote);
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(sql.toString())) {
            while (rs.next()) {
                List<Object> values = new ArrayList<>();
                for (int i = 0; i < columns.size(); i++) {
                    values.add(fromDb(columns.get(i), rs, i + 1));
                }
                List<Object> k = new ArrayList<>();
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
    }

    /** The comparable meaning of a database value. */
    private static Object fromDb(ColumnInfo c, ResultSet rs, int i) throws SQLException {
        String t = c.dataType();
        try {
            if (rs.getObject(i) == null) {
                return null;
            }
            if (t.equals("ARRAY") || t.startsWith("json")) {
                return MAPPER.readTree(rs.getString(i));
            }
        } catch (IOException e) {
            throw new SQLException(e);
        }
        return switch (t) {
            case "timestamp with time zone" -> rs.getObject(i, OffsetDateTime.class).toInstant();
            case "timestamp without time zone" -> rs.getObject(i, LocalDateTime.class);
            case "date" -> rs.getObject(i, LocalDate.class);
            case "bytea", "blob", "tinyblob", "mediumblob", "longblob", "binary", "varbinary" ->
                    Base64.getEncoder().encodeToString(rs.getBytes(i));
            case "timestamp" -> number(rs.getString(i)); // MySQL: UNIX_TIMESTAMP(column)
            case "datetime" -> LocalDateTime.parse(rs.getString(i).replace(' ', 'T'));
            case "float", "double" -> Double.parseDouble(rs.getString(i));
            case "tinyint", "mediumint", "int", "decimal" -> number(rs.getString(i));
            case "boolean" -> rs.getBoolean(i);
            case "real", "double precision" -> Double.parseDouble(rs.getString(i));
            case "smallint", "integer", "bigint", "numeric" -> number(rs.getString(i));
            default -> rs.getString(i);
        };
    }

    /** The comparable meaning of an event value. */
    private static Object fromJson(ColumnInfo c, JsonNode v) {
        if (v == null || v.isNull()) {
            return null;
        }
        String t = c.dataType();
        if (t.equals("ARRAY") || t.startsWith("json")) {
            return v;
        }
        return switch (t) {
            case "timestamp with time zone" -> Instant.parse(v.asText());
            case "timestamp without time zone" -> LocalDateTime.parse(v.asText());
            case "date" -> LocalDate.parse(v.asText());
            case "boolean" -> v.asBoolean();
            case "real", "double precision", "float", "double" -> Double.parseDouble(v.asText());
            case "smallint", "integer", "bigint", "numeric", "tinyint", "mediumint", "int", "decimal" -> number(v.asText());
            case "datetime" -> LocalDateTime.parse(v.asText());
            case "timestamp" -> {
                Instant instant = Instant.parse(v.asText());
                yield new BigDecimal(instant.getEpochSecond()).add(BigDecimal.valueOf(instant.getNano(), 9))
                        .stripTrailingZeros();
            }
            default -> v.asText();
        };
    }

    private static Object number(String text) {
        try {
            return new BigDecimal(text).stripTrailingZeros();
        } catch (NumberFormatException e) {
            return text; // NaN, Infinity
        }
    }

    static boolean same(Object a, Object b) {
        return Objects.equals(a, b);
    }
}
