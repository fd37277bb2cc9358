package dev.ferry.jdbc;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.Column;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A configured table as the database describes it: its columns (from an empty {@code SELECT *}, so
 * every driver answers alike), its key (the configured one, else the primary key), and where its
 * cursor and soft-delete columns are.
 *
 * @param spec       the configured table
 * @param schema     the event schema
 * @param readers    one per column
 * @param keyIndexes the key columns' indexes, in key order; empty for a table without a key
 * @param keyKinds   how each key column is bound as a parameter
 * @param cursor     the cursor column's index, or -1
 * @param cursorKind how the cursor is read, bound and moved back; null without one
 * @param softDelete the soft-delete column's index, or -1
 * @param xmin       whether the table is tracked by PostgreSQL's row versions ({@code cursor: xmin}) instead of
 *                   a cursor column
 */
record TableShape(TableSpec spec, TableSchema schema, List<ColumnReader> readers, int[] keyIndexes,
                  List<CursorValues> keyKinds, int cursor, CursorValues cursorKind, int softDelete, boolean xmin) {

    TableId table() {
        return schema.table();
    }

    boolean keyed() {
        return keyIndexes.length > 0;
    }

    static TableShape describe(Connection c, Dialect dialect, TableSpec spec) throws SQLException, FerryException {
        TableId table = TableId.parse(spec.name(), dialect.defaultSchema());
        List<String> names = new ArrayList<>();
        List<ColumnReader> readers = new ArrayList<>();
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT * FROM " + dialect.from(table) + " WHERE 1 = 0")) {
            ResultSetMetaData md = rs.getMetaData();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                names.add(md.getColumnLabel(i));
                readers.add(ColumnReader.of(md, i, dialect));
            }
        } catch (SQLException e) {
            c.rollback();
            throw new FerryException(ErrorKind.CONFIG, spec.where() + ": cannot read table " + table + " in "
                    + dialect.product() + ": " + e.getMessage() + ". Check the name (schema.table) and that the user "
                    + "may SELECT from it.", e);
        }
        c.rollback();
        List<String> key = spec.key().isEmpty() ? primaryKey(c, dialect, table) : spec.key();
        int[] keyIndexes = new int[key.size()];
        List<CursorValues> keyKinds = new ArrayList<>();
        for (int i = 0; i < key.size(); i++) {
            keyIndexes[i] = column(names, key.get(i), table, spec, "key");
            keyKinds.add(readers.get(keyIndexes[i]).cursorKind());
        }
        List<Column> columns = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            columns.add(readers.get(i).column(names.get(i), key.contains(names.get(i))));
        }
        int cursor = -1;
        CursorValues cursorKind = null;
        boolean xmin = spec.cursor() != null && spec.cursor().equals("xmin") && dialect.postgres()
                && !names.contains("xmin");
        if (xmin) {
            if (keyIndexes.length == 0 || !spec.lookback().none()) {
                throw FerryException.config(spec.where() + ": cursor: xmin tracks " + table + " by PostgreSQL's row "
                        + "versions; it needs a key (primary key or key: [...]) and no lookback (late commits are what "
                        + "it finds by itself).");
            }
        } else if (spec.cursor() != null) {
            cursor = column(names, spec.cursor(), table, spec, "cursor");
            cursorKind = readers.get(cursor).cursorKind();
            if (!cursorKind.cursorCapable()) {
                throw FerryException.config(spec.where() + ": the cursor column " + spec.cursor() + " of " + table + " is "
                        + readers.get(cursor).type() + "; a cursor must be a number, a timestamp, a date or text that "
                        + "grows with every change.");
            }
            if (keyIndexes.length == 0) {
                throw FerryException.config(spec.where() + ": " + table + " has no primary key; an incremental table needs "
                        + "one to page through rows with equal cursor values and to recognise rows read again. Name the "
                        + "columns that identify a row with key: [...].");
            }
            boolean lookbackFits = spec.lookback().none() || (cursorKind.temporal() == (spec.lookback().duration() != null));
            if (!lookbackFits) {
                throw FerryException.config(spec.where() + ": lookback of " + table + " must be "
                        + (cursorKind.temporal() ? "a duration (10m, 2h) for its timestamp cursor " : "a number for its numeric cursor ")
                        + spec.cursor() + ".");
            }
        }
        if (spec.keyCompare() && keyKinds.stream().anyMatch(k -> !k.cursorCapable())) {
            throw FerryException.config(spec.where() + ": deletes: key_compare keeps the keys of " + table + ", but a key "
                    + "column is of a type it cannot keep (numbers, text, dates and timestamps it can). Use "
                    + "deletes: soft_delete:COLUMN or none.");
        }
        int softDelete = spec.softDelete() == null ? -1 : column(names, spec.softDelete(), table, spec, "soft-delete");
        return new TableShape(spec, new TableSchema(table, columns), List.copyOf(readers), keyIndexes,
                List.copyOf(keyKinds), cursor, cursorKind, softDelete, xmin);
    }

    private static List<String> primaryKey(Connection c, Dialect dialect, TableId table) throws SQLException {
        TreeMap<Integer, String> key = new TreeMap<>();
        try (ResultSet rs = c.getMetaData().getPrimaryKeys(dialect.catalog(table), dialect.schema(table), table.name())) {
            while (rs.next()) {
                key.put(rs.getInt("KEY_SEQ"), rs.getString("COLUMN_NAME"));
            }
        }
        c.rollback();
        return List.copyOf(key.values());
    }

    private static int column(List<String> names, String name, TableId table, TableSpec spec, String role)
            throws FerryException {
        int i = names.indexOf(name);
        if (i < 0) {
            throw FerryException.config(spec.where() + ": the " + role + " column " + name + " is not a column of " + table
                    + " (its columns: " + String.join(", ", names) + ").");
        }
        return i;
    }

    /** The key columns, quoted, in key order. */
    List<String> keyColumns(Dialect dialect) {
        List<String> out = new ArrayList<>();
        for (int k : keyIndexes) {
            out.add(dialect.quote(schema.column(k).name()));
        }
        return out;
    }

    /** The quoted column list of a SELECT. */
    String selectList(Dialect dialect) {
        return schema.columns().stream().map(col -> dialect.quote(col.name())).collect(Collectors.joining(", "));
    }
}
