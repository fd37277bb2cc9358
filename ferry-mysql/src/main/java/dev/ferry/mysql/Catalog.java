package dev.ferry.mysql;

import dev.ferry.event.TableId;
import dev.ferry.source.TableFilter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Reads tables and columns from information_schema. Not thread-safe; one connection. */
final class Catalog {
    private final Connection connection;
    private Map<Integer, String> collationCharsets;

    Catalog(Connection connection) {
        this.connection = connection;
    }

    private Boolean mariaDb;

    /** Whether the server is MariaDB (whose binlog metadata differs from MySQL's in places). */
    boolean mariaDb() throws SQLException {
        if (mariaDb == null) {
            try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("SELECT VERSION()")) {
                rs.next();
                mariaDb = rs.getString(1).toLowerCase(java.util.Locale.ROOT).contains("mariadb");
            }
        }
        return mariaDb;
    }

    /** The base tables of {@code database} that the filter captures, by name. */
    List<TableId> tables(String database, TableFilter filter) throws SQLException {
        List<TableId> out = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT TABLE_NAME FROM information_schema.TABLES "
                + "WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME")) {
            ps.setString(1, database);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    TableId id = new TableId(database, rs.getString(1));
                    if (filter.matches(id)) {
                        out.add(id);
                    }
                }
            }
        }
        return out;
    }

    /** The table's columns in order, with its primary key; empty when the table does not exist. */
    Optional<TableShape> shape(TableId table) throws SQLException {
        List<String> key = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
                + "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    key.add(rs.getString(1));
                }
            }
        }
        List<ColumnDef> columns = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, "
                + "CHARACTER_SET_NAME, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION FROM information_schema.COLUMNS "
                + "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(1);
                    String dataType = rs.getString(2).toLowerCase(java.util.Locale.ROOT);
                    String columnType = rs.getString(3);
                    String charset = rs.getString(4);
                    int length = switch (dataType) {
                        case "bit" -> rs.getInt(6);
                        case "binary" -> rs.getInt(5);
                        default -> 0;
                    };
                    if (charset == null && (dataType.endsWith("binary") || dataType.endsWith("blob"))) {
                        charset = "binary";
                    }
                    List<String> values = dataType.equals("enum") || dataType.equals("set")
                            ? members(columnType) : List.of();
                    columns.add(new ColumnDef(name, dataType, normalise(columnType),
                            columnType.toLowerCase(java.util.Locale.ROOT).contains("unsigned"), charset, values, length,
                            key.contains(name)));
                }
            }
        }
        return columns.isEmpty() ? Optional.empty() : Optional.of(TableShape.of(table, columns));
    }

    /** The character set of each collation id, as TABLE_MAP metadata names collations. */
    String charsetOfCollation(int id) throws SQLException {
        if (collationCharsets == null) {
            Map<Integer, String> map = new HashMap<>();
            try (Statement s = connection.createStatement();
                 ResultSet rs = s.executeQuery("SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS")) {
                while (rs.next()) {
                    map.put(rs.getInt(1), rs.getString(2));
                }
            }
            collationCharsets = map;
        }
        return id == 63 ? "binary" : collationCharsets.get(id);
    }

    /** Integer display widths ({@code int(11)}) are cosmetic and gone in MySQL 8: drop them. */
    static String normalise(String columnType) {
        return columnType.replaceFirst("^(tinyint|smallint|mediumint|int|bigint)\\(\\d+\\)", "$1");
    }

    /** The members of {@code enum('a','b''c')} or {@code set(...)}, unquoted. */
    static List<String> members(String columnType) {
        List<String> out = new ArrayList<>();
        int i = columnType.indexOf('(') + 1;
        StringBuilder current = null;
        while (i < columnType.length()) {
            char c = columnType.charAt(i);
            if (current == null) {
                if (c == '\'') {
                    current = new StringBuilder();
                }
            } else if (c == '\'' && i + 1 < columnType.length() && columnType.charAt(i + 1) == '\'') {
                current.append('\'');
                i++;
            } else if (c == '\\' && i + 1 < columnType.length()) {
                current.append(columnType.charAt(++i));
            } else if (c == '\'') {
                out.add(current.toString());
                current = null;
            } else {
                current.append(c);
            }
            i++;
        }
        return out;
    }
}
