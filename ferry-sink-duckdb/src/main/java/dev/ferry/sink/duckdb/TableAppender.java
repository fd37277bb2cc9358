package dev.ferry.sink.duckdb;

import dev.ferry.event.Column;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;

/**
 * Appends rows straight into a mirror or history table with DuckDB's Appender, each value in the
 * binary form of the column's type ({@link BinaryForm}): no staging table, no cast, no
 * {@code INSERT … ON CONFLICT}. For a mirror, only whole rows whose key it does not hold
 * ({@link TableWriter} proves it, or deletes the old row first); for a history, every row (it is
 * append-only). A row with a value whose binary form is
 * not certain ({@link BinaryValues}: {@code infinity}, years BC, NaN) is left to the staging path,
 * which casts its text.
 *
 * <p>Built per write from the table's columns as DuckDB has them: null (no direct path for the
 * table) when a column's type was widened beyond the source's, or is one without a binary form
 * (times, intervals, lists), so that both paths always store the same thing. A history table's first
 * columns are its metadata ({@link #HISTORY_META}), whose values the caller gives in binary form.
 */
final class TableAppender {
    /**
     * A history table's metadata columns as DuckDB reports them, in table order (TableWriter creates
     * them so): the offset, op, position, commit time (epoch microseconds), transaction id, and the
     * unchanged columns' list, appended only as null (an event with one is staged).
     */
    private static final List<Map.Entry<String, String>> HISTORY_META = List.of(Map.entry("_ferry_offset", "BIGINT"),
            Map.entry("_ferry_op", "VARCHAR"), Map.entry("_ferry_position", "VARCHAR"),
            Map.entry("_ferry_committed_at", "TIMESTAMP WITH TIME ZONE"), Map.entry("_ferry_tx_id", "BIGINT"),
            Map.entry("_ferry_unchanged", "VARCHAR[]"));
    private static final BinaryForm[] HISTORY_META_FORMS = {BinaryForm.LONG, BinaryForm.STRING, BinaryForm.STRING,
        BinaryForm.EPOCH_MICROS, BinaryForm.LONG, null};

    private final String schema;
    private final String table;
    /** For each column of the table, how it is appended; null for a column that is always NULL. */
    private final BinaryForm[] forms;
    /** For each column, its index among the write's columns; -1 for metadata and columns the events lack. */
    private final int[] source;
    /** How many of the first columns are metadata, whose values {@link #row(Object[], Object[])} takes as they are. */
    private final int meta;

    private TableAppender(String schema, String table, BinaryForm[] forms, int[] source, int meta) {
        this.schema = schema;
        this.table = table;
        this.forms = forms;
        this.source = source;
        this.meta = meta;
    }

    /**
     * The appender of a mirror, or null when one of its columns has no binary form.
     *
     * @param mirrorColumns the mirror's columns in table order (lower-case name → DuckDB type)
     * @param columns       the write's columns
     */
    static TableAppender mirror(String schema, String table, Map<String, String> mirrorColumns, List<Column> columns) {
        return of(schema, table, mirrorColumns, columns, 0);
    }

    /** The appender of a history table, or null as for {@link #mirror}, or when its metadata columns differ. */
    static TableAppender history(String schema, String table, Map<String, String> historyColumns, List<Column> columns) {
        List<Map.Entry<String, String>> first = historyColumns.entrySet().stream().limit(HISTORY_META.size()).toList();
        return first.equals(HISTORY_META) ? of(schema, table, historyColumns, columns, HISTORY_META.size()) : null;
    }

    private static TableAppender of(String schema, String table, Map<String, String> tableColumns, List<Column> columns,
                                    int meta) {
        BinaryForm[] forms = new BinaryForm[tableColumns.size()];
        int[] source = new int[forms.length];
        int m = 0;
        for (Map.Entry<String, String> tc : tableColumns.entrySet()) {
            source[m] = -1;
            if (m < meta) {
                forms[m] = HISTORY_META_FORMS[m];
            }
            for (int i = 0; m >= meta && i < columns.size(); i++) {
                if (columns.get(i).name().toLowerCase(Locale.ROOT).equals(tc.getKey())) {
                    source[m] = i;
                    forms[m] = BinaryForm.of(columns.get(i), tc.getValue());
                    if (forms[m] == null) {
                        return null;
                    }
                }
            }
            m++;
        }
        return new TableAppender(schema, table, forms, source, meta);
    }

    /** Whether every column of the table is one of the write's: a row appended replaces a whole row. */
    boolean coversEveryColumn() {
        for (int m = meta; m < forms.length; m++) {
            if (source[m] < 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * The row of the mirror for the given values of the write's columns, each in its binary form
     * (null values stay null); null when one value needs the text path.
     */
    Object[] row(Object[] values) {
        return row(new Object[0], values);
    }

    /**
     * The row of a history table: its metadata values, already in binary form (see
     * {@link #HISTORY_META}), then the row as for {@link #row(Object[])}.
     */
    Object[] row(Object[] metaValues, Object[] values) {
        Object[] out = new Object[forms.length];
        System.arraycopy(metaValues, 0, out, 0, meta);
        for (int m = meta; m < forms.length; m++) {
            Object v = source[m] < 0 ? null : values[source[m]];
            if (v != null) {
                out[m] = forms[m].convert(v);
                if (out[m] == null) {
                    return null;
                }
            }
        }
        return out;
    }

    /**
     * Appends the rows (from {@link #row}). DuckDB checks the table's primary key when the appender
     * flushes, which is done here explicitly: the driver's {@code close()} flushes too, but drops the
     * error, and the write would report success with the rows missing. A key the table holds already
     * is a {@link KeyTaken}: the caller's bound of the mirror's keys was stale (a row added outside
     * Ferry), and the write is worth one more try with the keys read again.
     */
    void append(DuckDBConnection db, List<Object[]> rows) throws SQLException {
        try (DuckDBAppender a = db.createAppender(schema, table)) {
            for (Object[] row : rows) {
                a.beginRow();
                for (int m = 0; m < forms.length; m++) {
                    if (forms[m] == null) {
                        a.appendNull();
                    } else {
                        forms[m].append(a, row[m]);
                    }
                }
                a.endRow();
            }
            a.flush();
        } catch (SQLException e) {
            // the driver reports it as "Failed to append: Duplicate key "id: 2" violates primary key constraint."
            if (String.valueOf(e.getMessage()).contains("violates primary key constraint")) {
                throw new KeyTaken(schema + "." + table, e);
            }
            throw e;
        }
    }

    /** An append met a row of its key in the table: one DuckDB's primary key refused. */
    static final class KeyTaken extends SQLException {
        private static final long serialVersionUID = 1L;

        KeyTaken(String table, SQLException cause) {
            super("Cannot append to table " + table + " in the DuckDB file: " + describe(cause), cause.getSQLState(), cause);
        }

        /** DuckDB's message on one line, without the driver's prefix and the final period. */
        private static String describe(SQLException e) {
            String message = String.valueOf(e.getMessage()).replace('\n', ' ').trim();
            if (message.startsWith(FAILED_TO_APPEND)) {
                message = message.substring(FAILED_TO_APPEND.length());
            }
            return message.endsWith(".") ? message.substring(0, message.length() - 1) : message;
        }
    }

    /** What the driver puts in front of the error of an appender's flush. */
    static final String FAILED_TO_APPEND = "Failed to append: ";
}
