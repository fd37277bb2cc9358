package dev.ferry.sink.duckdb;

import static dev.ferry.sink.duckdb.DuckDbTypes.quote;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;

/**
 * Writes one source table's events of one {@code write} into its mirror and history tables, inside
 * the caller's transaction: evolves the tables' columns, stages the values with DuckDB's Appender,
 * then applies them with set-based statements (one DELETE … USING, one INSERT … ON CONFLICT DO UPDATE
 * per distinct set of columns present, one INSERT into the history). Never a statement per row.
 *
 * <p>Mirror: {@code "<schema>"."<table>"}, the source columns plus a primary key on the source's key.
 * History: {@code "<schema>"."<table>__history"}, one row per event with {@code _ferry_offset} (the Log
 * offset, unique), {@code _ferry_op}, {@code _ferry_position}, {@code _ferry_committed_at},
 * {@code _ferry_tx_id}, {@code _ferry_unchanged}, then the row (the new row; for a delete the old one;
 * for a truncate nothing).
 */
final class TableWriter {
    static final String HISTORY_SUFFIX = "__history";
    private static final String GROUP = "_ferry_group";
    /** Staged beside a moved row: its old key's columns, numbered. */
    private static final String FROM = "_ferry_from_";
    private static final String NEW = "_ferry_new_";
    private static final List<String> HISTORY_META = List.of("_ferry_offset BIGINT", "_ferry_op VARCHAR",
            "_ferry_position VARCHAR", "_ferry_committed_at TIMESTAMP WITH TIME ZONE", "_ferry_tx_id BIGINT",
            "_ferry_unchanged VARCHAR[]");

    /** Numbers the staging tables: each writer keeps its own for the life of the connection. */
    private static final java.util.concurrent.atomic.AtomicInteger STAGES = new java.util.concurrent.atomic.AtomicInteger();

    private final DuckDBConnection db;
    private final TableId table;
    private final Stage mirrorStage = new Stage("_ferry_mirror_stage_" + STAGES.incrementAndGet());
    private final Stage historyStage = new Stage("_ferry_history_stage_" + STAGES.incrementAndGet());
    private final Stage replaceStage = new Stage("_ferry_replace_stage_" + STAGES.incrementAndGet());
    /** The mirror's rows whose key changes in a write, with values the events lack (see {@link #captureMoved}). */
    private final String moved = "_ferry_moved_" + STAGES.incrementAndGet();
    private final boolean mirror;
    private final boolean history;
    private final List<String> keyNames;
    /** The columns of each table as DuckDB has them (lower-case name → type); null until read. */
    private Map<String, String> mirrorColumns;
    private Map<String, String> historyColumns;
    /**
     * For a mirror with one integer key column: a bound no key in the mirror exceeds ({@link Long#MIN_VALUE}
     * when empty), read once per connection and raised by each write; null until read, and after a rollback.
     */
    private Long keyCeiling;
    /** Rows appended straight into the mirror over this writer's life (committed or not), for the debug log and tests. */
    private long appendedRows;

    /**
     * @param keyNames the source's key columns; empty for a table without one, which gets no mirror
     */
    TableWriter(DuckDBConnection db, TableId table, boolean mirror, boolean history, List<String> keyNames) {
        this.db = db;
        this.table = table;
        this.keyNames = List.copyOf(keyNames);
        this.mirror = mirror && !keyNames.isEmpty();
        this.history = history || keyNames.isEmpty();
    }

    boolean hasMirror() {
        return mirror;
    }

    List<String> keyNames() {
        return keyNames;
    }

    /** Rows appended straight into the mirror so far, without staging (see {@link #appendWholeRows}). */
    long appendedRows() {
        return appendedRows;
    }

    /** Forgets what it knows of the tables' columns: after a rollback, DuckDB's catalog is the truth. */
    void forgetColumns() {
        mirrorColumns = null;
        historyColumns = null;
        keyCeiling = null;
        mirrorStage.forget();
        historyStage.forget();
        replaceStage.forget();
    }

    /**
     * Applies the events (all of this table, in Log order) with their Log offsets.
     *
     * @param columns   every column the events carry, each in its newest definition
     * @param replacing the history rows of these offsets, if any, are replaced (a replay)
     */
    void write(List<ChangeEvent> events, long[] offsets, List<Column> columns, boolean replacing)
            throws SQLException, FerryException {
        if (mirror) {
            mirrorColumns = evolve(table.name(), mirrorColumns, columns, true);
            applyToMirror(events, columns);
        }
        if (history) {
            historyColumns = evolve(table.name() + HISTORY_SUFFIX, historyColumns, columns, false);
            if (replacing) {
                try (PreparedStatement ps = db.prepareStatement("DELETE FROM " + qualified(table.name() + HISTORY_SUFFIX)
                        + " WHERE _ferry_offset = ?")) {
                    for (long offset : offsets) {
                        ps.setLong(1, offset);
                        ps.executeUpdate();
                    }
                }
            }
            appendToHistory(events, offsets, columns);
        }
    }

    private String qualified(String name) {
        return quote(table.schema()) + "." + quote(name);
    }

    /**
     * Creates the table or adds the columns it lacks (ALTER TABLE ADD COLUMN), and widens a column
     * whose source type widened; a source type change that no DuckDB type holds with its old values
     * is a DATA error. Columns the source dropped stay, nullable.
     */
    private Map<String, String> evolve(String name, Map<String, String> known, List<Column> columns, boolean isMirror)
            throws SQLException, FerryException {
        Map<String, String> existing = known != null ? known : readColumns(name);
        try (Statement s = db.createStatement()) {
            if (existing.isEmpty()) {
                s.execute("CREATE SCHEMA IF NOT EXISTS " + quote(table.schema()));
                StringJoiner ddl = new StringJoiner(", ", "CREATE TABLE " + qualified(name) + " (", ")");
                if (!isMirror) {
                    HISTORY_META.forEach(ddl::add);
                }
                for (Column c : columns) {
                    ddl.add(quote(c.name()) + " " + DuckDbTypes.stored(c));
                }
                if (isMirror) {
                    StringJoiner key = new StringJoiner(", ", "PRIMARY KEY (", ")");
                    keyNames.forEach(k -> key.add(quote(k)));
                    ddl.add(key.toString());
                }
                s.execute(ddl.toString());
                return readColumns(name);
            }
            for (Column c : columns) {
                String lower = c.name().toLowerCase(Locale.ROOT);
                String wanted = DuckDbTypes.stored(c);
                String have = existing.get(lower);
                if (have == null) {
                    s.execute("ALTER TABLE " + qualified(name) + " ADD COLUMN " + quote(c.name()) + " " + wanted);
                    existing.put(lower, wanted);
                    continue;
                }
                String target = DuckDbTypes.reconcile(have, wanted);
                if (target == null) {
                    throw new FerryException(ErrorKind.DATA, "DuckDB table " + table.schema() + "." + name + ", column "
                            + c.name() + ": the source's type changed to " + c.sourceType() + " (" + wanted + " in DuckDB), "
                            + "which the column's type " + have + " cannot hold without changing the meaning of the rows it "
                            + "already has. Change the column yourself (ALTER TABLE ... ALTER COLUMN ... SET DATA TYPE ...), "
                            + "or drop the table and take a new snapshot of it (ferry snapshot --table).");
                }
                if (!target.equals(have)) {
                    s.execute("ALTER TABLE " + qualified(name) + " ALTER COLUMN " + quote(c.name()) + " SET DATA TYPE " + target);
                    existing.put(lower, target);
                }
            }
        }
        return existing;
    }

    private Map<String, String> readColumns(String name) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (PreparedStatement ps = db.prepareStatement("SELECT column_name, data_type FROM duckdb_columns() "
                + "WHERE database_name = current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index")) {
            ps.setString(1, table.schema());
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1).toLowerCase(Locale.ROOT), rs.getString(2));
                }
            }
        }
        return out;
    }

    /** The staged values' stored types: the table's column types, which may be wider than the source's. */
    private String castFromStage(Column c, Map<String, String> tableColumns, String staged) {
        String stored = tableColumns.get(c.name().toLowerCase(Locale.ROOT));
        String cast = DuckDbTypes.fromCarrier(c, staged);
        return stored.equals(DuckDbTypes.stored(c)) ? cast : "CAST(" + cast + " AS " + stored + ")";
    }

    private void applyToMirror(List<ChangeEvent> events, List<Column> columns) throws SQLException {
        KeyedChanges changes = new KeyedChanges(columns, keyNames);
        for (ChangeEvent e : events) {
            changes.apply(e);
        }
        try (Statement s = db.createStatement()) {
            if (changes.truncated()) {
                s.execute("DELETE FROM " + qualified(table.name()));
                keyCeiling = null; // read again: the mirror is empty now
            }
            Collection<KeyedChanges.Change> staged = appendWholeRows(s, columns, changes.changes());
            if (staged.isEmpty()) {
                return;
            }
            List<boolean[]> groups = KeyedChanges.presentSets(staged);
            boolean moves = KeyedChanges.moves(staged);
            List<String> extra = new ArrayList<>(List.of(GROUP + " INTEGER"));
            if (moves) {
                for (int k = 0; k < keyNames.size(); k++) {
                    extra.add(FROM + k + " " + DuckDbTypes.carrier(column(columns, keyNames.get(k))));
                }
            }
            mirrorStage.prepare(s, columns, extra);
            try (DuckDBAppender a = db.createAppender("temp", "main", mirrorStage.name)) {
                int[] keyIndexes = keyIndexes(columns);
                for (KeyedChanges.Change c : staged) {
                    a.beginRow();
                    for (int i = 0; i < columns.size(); i++) {
                        Object v = null;
                        if (c.delete) {
                            for (int k = 0; k < keyIndexes.length; k++) {
                                if (keyIndexes[k] == i) {
                                    v = c.keyValues[k];
                                }
                            }
                        } else if (c.present[i]) {
                            v = c.values[i];
                        }
                        appendValue(a, columns.get(i), v);
                    }
                    a.append(c.delete ? -1 : indexOf(groups, c.present));
                    for (int k = 0; moves && k < keyNames.size(); k++) {
                        appendValue(a, column(columns, keyNames.get(k)), c.fromKey == null ? null : c.fromKey[k]);
                    }
                    a.endRow();
                }
                a.flush(); // close() would drop its error: the rows would be missing, the write taken as done
            }
            StringJoiner match = new StringJoiner(" AND ");
            for (String k : keyNames) {
                Column c = column(columns, k);
                match.add("m." + quote(k) + " = " + castFromStage(c, mirrorColumns, "s." + quote(c.name())));
            }
            if (moves) {
                captureMoved(s, columns);
            }
            if (KeyedChanges.deletes(staged) > 0) {
                s.execute("DELETE FROM " + qualified(table.name()) + " AS m USING " + mirrorStage.qualified() + " AS s WHERE s."
                        + GROUP + " = -1 AND " + match);
            }
            for (int g = 0; g < groups.size(); g++) {
                s.execute(upsert(columns, groups.get(g), g));
            }
            if (moves) {
                restoreMoved(s, columns, groups);
            }
            mirrorStage.empty(s);
        }
    }

    /**
     * Appends whole rows straight into the mirror ({@link TableAppender}) — those whose key the mirror
     * cannot hold yet, and those replacing a row it may hold, which is deleted first (one
     * {@code DELETE … USING} of the keys) — and returns the changes left for the staging path: deletes,
     * rows with absent (unchanged TOAST) values, values that need DuckDB's text cast, and rows the
     * mirror holds more columns of than the write (a column dropped at the source keeps its value,
     * which only the upsert leaves alone), or whose old row a moved key still reads.
     *
     * <p>Why a key is known absent: the mirror has one integer key column and the key is above
     * {@link #keyCeiling}, a bound of the mirror's keys read with {@code max()} in this connection
     * and raised by every key this writer upserts since (deletes only lower the true maximum). No
     * other writer changes the mirror meanwhile: DuckDB lets one process write the file, and the
     * sink owns it. A snapshot (keys ascending) and a stream of inserts of new keys take this path;
     * a re-snapshot over existing rows, or a write replayed after a crash (whose rows are all in
     * the mirror or none, as it is one transaction), finds its keys at or below the bound: their
     * rows are replaced, deleted before the append. Keys are unique among the changes, which are the
     * net effect per key. (Replacing a whole row costs less than {@code INSERT … ON CONFLICT DO
     * UPDATE}: about 5 µs per update of the benchmark's orders against 6, in DuckDbSinkProbe.)
     */
    private Collection<KeyedChanges.Change> appendWholeRows(Statement s, List<Column> columns,
                                                          Collection<KeyedChanges.Change> changes) throws SQLException {
        if (changes.isEmpty() || keyNames.size() != 1 || !isIntegral(column(columns, keyNames.get(0)).type())) {
            return changes;
        }
        TableAppender appender = TableAppender.mirror(table.schema(), table.name(), mirrorColumns, columns);
        if (appender == null) {
            return changes;
        }
        if (keyCeiling == null) {
            try (ResultSet rs = s.executeQuery("SELECT max(" + quote(keyNames.get(0)) + ") FROM " + qualified(table.name()))) {
                rs.next();
                long max = rs.getLong(1);
                keyCeiling = rs.wasNull() ? Long.MIN_VALUE : max;
            }
        }
        long ceiling = keyCeiling;
        long raised = ceiling;
        // a moved row's old row is read after this (captureMoved): it must not be replaced before
        Set<Object> movedFrom = new HashSet<>();
        for (KeyedChanges.Change c : changes) {
            if (c.fromKey != null) {
                movedFrom.add(c.fromKey[0]);
            }
        }
        List<Object[]> rows = new ArrayList<>();
        List<Long> replaced = new ArrayList<>();
        List<KeyedChanges.Change> staged = new ArrayList<>();
        for (KeyedChanges.Change c : changes) {
            Object[] row = null;
            if (!c.delete && c.keyValues[0] instanceof Long key) {
                raised = Math.max(raised, key);
                if (c.fromKey == null && allPresent(c.present)
                        && (key > ceiling || appender.coversEveryColumn() && !movedFrom.contains(key))) {
                    row = appender.row(c.values);
                    if (row != null && key <= ceiling) {
                        replaced.add(key);
                    }
                }
            }
            if (row == null) {
                staged.add(c);
            } else {
                rows.add(row);
            }
        }
        if (!replaced.isEmpty()) {
            replaceStage.prepare(s, List.of(), List.of("k BIGINT"));
            try (DuckDBAppender a = db.createAppender("temp", "main", replaceStage.name)) {
                for (long k : replaced) {
                    a.beginRow().append(k).endRow();
                }
                a.flush(); // close() would drop its error: the rows would be missing, the write taken as done
            }
            s.execute("DELETE FROM " + qualified(table.name()) + " AS m USING " + replaceStage.qualified() + " AS s WHERE m."
                    + quote(keyNames.get(0)) + " = s.k");
            replaceStage.empty(s);
        }
        if (!rows.isEmpty()) {
            appender.append(db, rows);
            appendedRows += rows.size();
        }
        keyCeiling = raised;
        return staged;
    }

    private static boolean isIntegral(LogicalType type) {
        return type == LogicalType.INT16 || type == LogicalType.INT32 || type == LogicalType.INT64;
    }

    private static boolean allPresent(boolean[] present) {
        for (boolean p : present) {
            if (!p) {
                return false;
            }
        }
        return true;
    }

    /**
     * A key change that leaves a column unchanged (PostgreSQL does not send an unchanged TOASTed value,
     * even when the key changes) moves the row: the old key is deleted, the new one inserted without
     * the value. Before the delete, the old rows are copied, with the new key and the group of the
     * row that takes their values, into a temporary table; {@link #restoreMoved} sets the absent
     * columns from it after the upserts. Rare (a key change with a large value), so made per write.
     */
    private void captureMoved(Statement s, List<Column> columns) throws SQLException {
        StringJoiner select = new StringJoiner(", ", "CREATE OR REPLACE TEMP TABLE " + moved + " AS SELECT s." + GROUP + " AS "
                + GROUP + ", ", "");
        StringJoiner on = new StringJoiner(" AND ");
        for (int k = 0; k < keyNames.size(); k++) {
            Column c = column(columns, keyNames.get(k));
            select.add(castFromStage(c, mirrorColumns, "s." + quote(c.name())) + " AS " + NEW + k);
            on.add("m." + quote(c.name()) + " = " + castFromStage(c, mirrorColumns, "s." + FROM + k));
        }
        s.execute(select + ", m.* FROM " + qualified(table.name()) + " AS m JOIN " + mirrorStage.qualified() + " AS s ON " + on);
    }

    /** Sets each moved row's absent columns (those its group lacks) from its old row. */
    private void restoreMoved(Statement s, List<Column> columns, List<boolean[]> groups) throws SQLException {
        for (int g = 0; g < groups.size(); g++) {
            StringJoiner set = new StringJoiner(", ");
            for (int i = 0; i < columns.size(); i++) {
                if (!groups.get(g)[i] && !isKey(columns.get(i).name())) {
                    set.add(quote(columns.get(i).name()) + " = o." + quote(columns.get(i).name()));
                }
            }
            if (set.length() == 0) {
                continue;
            }
            StringJoiner where = new StringJoiner(" AND ", "o." + GROUP + " = " + g + " AND ", "");
            for (int k = 0; k < keyNames.size(); k++) {
                where.add("m." + quote(keyNames.get(k)) + " = o." + NEW + k);
            }
            s.execute("UPDATE " + qualified(table.name()) + " AS m SET " + set + " FROM temp.main." + moved + " AS o WHERE " + where);
        }
        s.execute("DROP TABLE temp.main." + moved);
    }

    /**
     * The statement that upserts one group: INSERT … ON CONFLICT DO UPDATE, which finds existing keys
     * through the primary key's index. A group with a list of floats uses MERGE instead: DuckDB's
     * ON CONFLICT path turns -0.0 inside lists into 0.0, its MERGE keeps it.
     */
    private String upsert(List<Column> columns, boolean[] present, int group) {
        StringJoiner names = new StringJoiner(", ");
        StringJoiner values = new StringJoiner(", ");
        StringJoiner set = new StringJoiner(", ");
        StringJoiner inserted = new StringJoiner(", ");
        boolean floatList = false;
        for (int i = 0; i < columns.size(); i++) {
            Column c = columns.get(i);
            floatList |= present[i] && c.type() == LogicalType.ARRAY
                    && (c.elementType() == LogicalType.FLOAT32 || c.elementType() == LogicalType.FLOAT64);
        }
        for (int i = 0; i < columns.size(); i++) {
            Column c = columns.get(i);
            boolean key = isKey(c.name());
            if (!present[i] && !key) {
                continue;
            }
            names.add(quote(c.name()));
            values.add(castFromStage(c, mirrorColumns, quote(c.name())) + " AS " + quote(c.name()));
            inserted.add("s." + quote(c.name()));
            if (!key) {
                set.add(quote(c.name()) + " = " + (floatList ? "s." : "EXCLUDED.") + quote(c.name()));
            }
        }
        String select = "SELECT " + values + " FROM " + mirrorStage.qualified() + " WHERE " + GROUP + " = " + group;
        if (floatList) {
            StringJoiner match = new StringJoiner(" AND ");
            keyNames.forEach(k -> match.add("m." + quote(k) + " = s." + quote(k)));
            return "MERGE INTO " + qualified(table.name()) + " AS m USING (" + select + ") AS s ON " + match
                    + (set.length() == 0 ? "" : " WHEN MATCHED THEN UPDATE SET " + set)
                    + " WHEN NOT MATCHED THEN INSERT (" + names + ") VALUES (" + inserted + ")";
        }
        StringJoiner conflict = new StringJoiner(", ");
        keyNames.forEach(k -> conflict.add(quote(k)));
        return "INSERT INTO " + qualified(table.name()) + " (" + names + ") " + select
                + " ON CONFLICT (" + conflict + ") DO " + (set.length() == 0 ? "NOTHING" : "UPDATE SET " + set);
    }

    /**
     * Appends one history row per event: straight into the history table in binary form where every
     * value has one ({@link TableAppender}; the history is append-only, so no key can be in the way),
     * through the staging table and DuckDB's casts for the rest (values without a certain binary form,
     * events with unchanged TOAST columns, whose list travels as text).
     */
    private void appendToHistory(List<ChangeEvent> events, long[] offsets, List<Column> columns) throws SQLException {
        TableAppender appender = TableAppender.history(table.schema(), table.name() + HISTORY_SUFFIX, historyColumns, columns);
        List<Object[]> rows = new ArrayList<>();
        List<ChangeEvent> staged = new ArrayList<>();
        long[] stagedOffsets = new long[events.size()];
        for (int n = 0; n < events.size(); n++) {
            ChangeEvent e = events.get(n);
            Object[] row = null;
            Instant at = e.committedAt();
            if (appender != null && e.unchanged().isEmpty() && at.getNano() % 1000 == 0) {
                row = appender.row(new Object[] {offsets[n], String.valueOf(e.op().code()), e.position().display(),
                        at.getEpochSecond() * 1_000_000 + at.getNano() / 1000, e.txId(), null}, historyValues(e, columns));
            }
            if (row == null) {
                stagedOffsets[staged.size()] = offsets[n];
                staged.add(e);
            } else {
                rows.add(row);
            }
        }
        if (!rows.isEmpty()) {
            appender.append(db, rows);
            appendedRows += rows.size();
        }
        if (!staged.isEmpty()) {
            stageHistory(staged, stagedOffsets, columns);
        }
    }

    /** The history row's values of an event, aligned with {@code columns}: the new row, for a delete the old one. */
    private static Object[] historyValues(ChangeEvent e, List<Column> columns) {
        Row row = historyRow(e);
        Object[] out = new Object[columns.size()];
        for (int k = 0; row != null && k < out.length; k++) {
            int i = e.schema().indexOf(columns.get(k).name());
            out[k] = i < 0 || e.op() != Op.DELETE && e.unchanged().contains(columns.get(k).name()) ? null : row.get(i);
        }
        return out;
    }

    private static Row historyRow(ChangeEvent e) {
        return e.op() == Op.DELETE ? (e.before() != null ? e.before() : e.after()) : e.op() == Op.TRUNCATE ? null : e.after();
    }

    private void stageHistory(List<ChangeEvent> events, long[] offsets, List<Column> columns) throws SQLException {
        try (Statement s = db.createStatement()) {
            historyStage.prepare(s, columns, List.of("_ferry_offset BIGINT", "_ferry_op VARCHAR",
                    "_ferry_position VARCHAR", "_ferry_committed_at VARCHAR", "_ferry_tx_id BIGINT", "_ferry_unchanged VARCHAR"));
            try (DuckDBAppender a = db.createAppender("temp", "main", historyStage.name)) {
                for (int n = 0; n < events.size(); n++) {
                    ChangeEvent e = events.get(n);
                    Object[] values = historyValues(e, columns);
                    a.beginRow();
                    for (int k = 0; k < values.length; k++) {
                        appendValue(a, columns.get(k), values[k]);
                    }
                    a.append(offsets[n]);
                    a.append(String.valueOf(e.op().code()));
                    a.append(e.position().display());
                    a.append(e.committedAt().toString());
                    a.append(e.txId());
                    if (e.unchanged().isEmpty()) {
                        a.appendNull();
                    } else {
                        Column list = new Column("unchanged", LogicalType.ARRAY, LogicalType.STRING, "text[]", false);
                        a.append((String) CarrierValues.of(list, List.copyOf(new java.util.TreeSet<>(e.unchanged()))));
                    }
                    a.endRow();
                }
                a.flush(); // close() would drop its error: the rows would be missing, the write taken as done
            }
            StringJoiner names = new StringJoiner(", ");
            StringJoiner values = new StringJoiner(", ");
            for (String meta : List.of("_ferry_offset", "_ferry_op", "_ferry_position", "_ferry_tx_id")) {
                names.add(meta);
                values.add(meta);
            }
            names.add("_ferry_committed_at").add("_ferry_unchanged");
            values.add("CAST(_ferry_committed_at AS TIMESTAMP WITH TIME ZONE)")
                    .add("CAST(CAST(_ferry_unchanged AS JSON) AS VARCHAR[])");
            for (Column c : columns) {
                names.add(quote(c.name()));
                values.add(castFromStage(c, historyColumns, quote(c.name())));
            }
            s.execute("INSERT INTO " + qualified(table.name() + HISTORY_SUFFIX) + " (" + names + ") SELECT " + values
                    + " FROM " + historyStage.qualified());
            historyStage.empty(s);
        }
    }

    /** A temporary table of the columns' carriers (then {@code extra}), created anew for each use. */
    private static void createStage(Statement s, String name, List<Column> columns, List<String> extra) throws SQLException {
        s.execute(stageDdl(name, columns, extra));
    }

    private static String stageDdl(String name, List<Column> columns, List<String> extra) {
        StringJoiner ddl = new StringJoiner(", ", "CREATE OR REPLACE TEMP TABLE " + name + " (", ")");
        for (Column c : columns) {
            ddl.add(quote(c.name()) + " " + DuckDbTypes.carrier(c));
        }
        extra.forEach(ddl::add);
        return ddl.toString();
    }

    /**
     * A temporary staging table of one writer, kept for the connection's life and emptied after each
     * use: creating it for every write is a catalog change per table per write, which cost about a
     * fifth as much as staging 8,192 rows. Made anew when the columns change, and after a rollback
     * (which undoes its creation or its emptying).
     */
    private static final class Stage {
        final String name;
        /** The DDL it was last created with; null when it may not exist or may hold rows. */
        private String created;

        Stage(String name) {
            this.name = name;
        }

        String qualified() {
            return "temp.main." + name;
        }

        void prepare(Statement s, List<Column> columns, List<String> extra) throws SQLException {
            String ddl = stageDdl(name, columns, extra);
            if (!ddl.equals(created)) {
                created = null;
                s.execute(ddl);
                created = ddl;
            }
        }

        void empty(Statement s) throws SQLException {
            s.execute("TRUNCATE " + qualified());
        }

        void forget() {
            created = null;
        }
    }

    private static void appendValue(DuckDBAppender a, Column c, Object value) throws SQLException {
        if (value == null) {
            a.appendNull();
            return;
        }
        Object carried;
        try {
            carried = CarrierValues.of(c, value);
        } catch (CarrierValues.Unstorable e) {
            throw new CarrierValues.Unstorable("column " + c.name() + " (" + c.sourceType() + "): " + e.getMessage());
        } catch (RuntimeException e) {
            throw new CarrierValues.Unstorable("column " + c.name() + " (" + c.sourceType() + "): cannot read the value "
                    + "as " + c.type() + ": " + e.getMessage());
        }
        if (carried instanceof Boolean b) {
            a.append(b.booleanValue());
        } else if (carried instanceof Long l) {
            a.append(l.longValue());
        } else if (carried instanceof Double d) {
            a.append(d.doubleValue());
        } else {
            a.append((String) carried);
        }
    }

    /**
     * After a DATA error: which column and value of the staged events DuckDB cannot store, found by
     * staging them again (in a transaction of its own, rolled back by the caller) and trying each
     * column's cast. Null when no single cast fails (a constraint, not a value).
     */
    String diagnose(List<ChangeEvent> events, List<Column> columns) throws SQLException {
        try (Statement s = db.createStatement()) {
            createStage(s, "_ferry_history_stage", columns, List.of());
            try (DuckDBAppender a = db.createAppender("temp", "main", "_ferry_history_stage")) {
                for (ChangeEvent e : events) {
                    Row row = e.op() == Op.DELETE ? e.before() : e.after();
                    a.beginRow();
                    for (Column c : columns) {
                        int i = e.schema().indexOf(c.name());
                        appendValue(a, c, row == null || i < 0 || e.unchanged().contains(c.name()) ? null : row.get(i));
                    }
                    a.endRow();
                }
                a.flush(); // close() would drop its error: the rows would be missing, the write taken as done
            }
            for (Column c : columns) {
                String staged = quote(c.name());
                String sql = "SELECT CAST(" + staged + " AS VARCHAR) FROM temp.main._ferry_history_stage WHERE " + staged
                        + " IS NOT NULL AND try(" + DuckDbTypes.fromCarrier(c, staged) + ") IS NULL LIMIT 1";
                try (ResultSet rs = s.executeQuery(sql)) {
                    if (rs.next()) {
                        String value = rs.getString(1);
                        return "column " + c.name() + " (" + c.sourceType() + ", stored as " + DuckDbTypes.stored(c)
                                + "): DuckDB cannot store the value " + (value.length() > 200 ? value.substring(0, 200) + "…" : value);
                    }
                }
            }
        }
        return null;
    }

    private int[] keyIndexes(List<Column> columns) {
        int[] out = new int[keyNames.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = columns.indexOf(column(columns, keyNames.get(k)));
        }
        return out;
    }

    private boolean isKey(String name) {
        return keyNames.stream().anyMatch(k -> k.equalsIgnoreCase(name));
    }

    private static Column column(List<Column> columns, String name) {
        return columns.stream().filter(c -> c.name().equalsIgnoreCase(name)).findFirst()
                .orElseThrow(() -> new CarrierValues.Unstorable("the events have no key column " + name));
    }

    private static int indexOf(List<boolean[]> groups, boolean[] present) {
        for (int i = 0; i < groups.size(); i++) {
            if (java.util.Arrays.equals(groups.get(i), present)) {
                return i;
            }
        }
        throw new IllegalStateException("no group");
    }

    /** The column list of a table's events: each column in its newest definition, in first-seen order. */
    static List<Column> columnsOf(List<ChangeEvent> events) {
        Map<String, Column> out = new LinkedHashMap<>();
        dev.ferry.event.TableSchema last = null;
        for (ChangeEvent e : events) {
            if (e.schema() == last) {
                continue; // the events of a write share their schema object until the table changes
            }
            last = e.schema();
            for (Column c : e.schema().columns()) {
                out.put(c.name().toLowerCase(Locale.ROOT), c);
            }
        }
        return new ArrayList<>(out.values());
    }
}
