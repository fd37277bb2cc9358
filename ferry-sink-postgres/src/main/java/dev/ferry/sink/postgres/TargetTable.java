package dev.ferry.sink.postgres;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.postgresql.PGConnection;
import org.postgresql.copy.PGCopyOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One source table in the warehouse, for one version of its schema and one connection: its mirror
 * (when it has a key), its history (when enabled), and the temporary staging table the mirror is
 * loaded through. {@link #prepare} brings the target tables up to the schema (creating them, adding
 * columns, widening types); the write methods run inside the caller's transaction.
 *
 * <p>Design notes. A write loads rows with COPY and applies them with one statement per kind, never
 * one per row: the mirror's changes, collapsed per key ({@link MirrorChanges}), are copied into the
 * staging table with a group number (-1 delete, 0 full row, n a row whose set n of columns must stay
 * as they are), then {@code INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE} runs once per group
 * present, with that group's columns left out of the SET list, and one {@code DELETE ... USING}
 * removes the deleted keys. The staging table copies the mirror's column types (CREATE TABLE AS), so a
 * value the mirror cannot take fails in the COPY, where PostgreSQL names the line and the column.
 */
final class TargetTable {
    private static final Logger LOG = LoggerFactory.getLogger(TargetTable.class);
    /** Column names Ferry uses in history and staging tables; a source column may not take them. */
    static final String RESERVED_PREFIX = "_ferry_";
    private static final String GROUP = "\"_ferry_group\"";
    /** In the staging table: links the row of a key change to the line of its old key (group {@link #FROM}). */
    private static final String LINK = "\"_ferry_link\"";
    /** The group of a staging line that holds the old key whose mirror row fills a key change's unsent values. */
    private static final int FROM = -2;
    private static final List<String> HISTORY_META = List.of(
            "\"_ferry_offset\" bigint PRIMARY KEY", "\"_ferry_op\" text NOT NULL", "\"_ferry_position\" text NOT NULL",
            "\"_ferry_committed_at\" timestamp with time zone NOT NULL", "\"_ferry_tx_id\" bigint",
            "\"_ferry_unchanged\" text[]");
    private static final String HISTORY_META_NAMES = "\"_ferry_offset\", \"_ferry_op\", \"_ferry_position\", "
            + "\"_ferry_committed_at\", \"_ferry_tx_id\", \"_ferry_unchanged\"";
    /** The history's column of the Log partition, for a Log of several. */
    private static final String PARTITION = "_ferry_partition";
    /** For a Log of several partitions, whose offsets are per partition: the history's key is both. */
    private static final List<String> PARTITIONED_HISTORY_META = List.of("\"_ferry_partition\" int NOT NULL",
            "\"_ferry_offset\" bigint NOT NULL", "\"_ferry_op\" text NOT NULL", "\"_ferry_position\" text NOT NULL",
            "\"_ferry_committed_at\" timestamp with time zone NOT NULL", "\"_ferry_tx_id\" bigint",
            "\"_ferry_unchanged\" text[]", "PRIMARY KEY (\"_ferry_partition\", \"_ferry_offset\")");
    private static final int COPY_BUFFER = 1 << 16;

    final TableSchema schema;
    /** The mirror's qualified, quoted name, or null when the table has no key. */
    final String mirror;
    /** The history's qualified, quoted name, or null when history is off. */
    final String history;
    private final String stage;
    private final String columnList;
    /** The transaction (the sink's count) that last loaded the staging table; it empties at commit. */
    private long stagedIn = -1;

    /** The Log partition of the sink writing through this table, or -1 for a Log of one. */
    private final int partition;

    private TargetTable(TableSchema schema, String mirror, String history, String stage, int partition) {
        this.partition = partition;
        this.schema = schema;
        this.mirror = mirror;
        this.history = history;
        this.stage = stage;
        List<String> names = new ArrayList<>();
        for (Column c : schema.columns()) {
            names.add(Sql.ident(c.name()));
        }
        this.columnList = String.join(", ", names);
    }

    /**
     * Creates or evolves the target tables of {@code schema} and a fresh staging table, inside the
     * caller's transaction.
     *
     * @param stageNumber a number unique on this connection, for the staging table's name
     * @throws FerryException DATA when the schema cannot be written (no key and no history, a reserved
     *                        column name, an incompatible type change, a changed key), CONFIG when two
     *                        source tables map to one target table
     */
    static TargetTable prepare(Connection c, WarehouseSettings s, TableSchema schema, int stageNumber)
            throws SQLException, FerryException {
        TableId source = schema.table();
        for (Column col : schema.columns()) {
            if (col.name().startsWith(RESERVED_PREFIX)) {
                throw new FerryException(ErrorKind.DATA, "Column " + col.name() + " of " + source + " starts with "
                        + RESERVED_PREFIX + ", which the postgres sink keeps for its own columns. Rename the column at "
                        + "the source, or leave the table out of this pipeline.");
            }
        }
        boolean keyed = schema.keyIndexes().length > 0;
        if (!keyed && !s.history()) {
            throw new FerryException(ErrorKind.DATA, "Source table " + source + " has no primary key, so the postgres "
                    + "sink cannot keep a mirror of it (a row could not be told from its twin), and history is off. Add "
                    + "a primary key at the source, turn history: true on to record its changes, or leave the table "
                    + "out of the pipeline.");
        }
        String mirror = keyed ? Sql.qualified(s.schema(), name(s.tableName(), source)) : null;
        String history = s.history() ? Sql.qualified(s.schema(), name(s.historyName(), source)) : null;
        if (mirror != null) {
            claim(c, s, mirror, source);
            evolve(c, mirror, schema, false, -1);
        }
        if (history != null) {
            claim(c, s, history, source);
            evolve(c, history, schema, true, s.logPartition());
        }
        String stage = null;
        if (mirror != null) {
            stage = Sql.ident("_ferry_stage_" + stageNumber);
            try (Statement st = c.createStatement()) {
                st.execute("DROP TABLE IF EXISTS pg_temp." + stage);
                st.execute("CREATE TEMPORARY TABLE " + stage + " ON COMMIT DELETE ROWS AS SELECT "
                        + columnList(schema) + ", NULL::smallint AS " + GROUP + ", NULL::int AS " + LINK + " FROM " + mirror
                        + " WITH NO DATA");
            }
        }
        return new TargetTable(schema, mirror, history, stage, s.logPartition());
    }

    /** A table name from its pattern, cut to PostgreSQL's 63 bytes so that the catalog holds what we name. */
    static String name(String pattern, TableId source) {
        String n = pattern.replace("{schema}", source.schema()).replace("{table}", source.name());
        byte[] bytes = n.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= 63) {
            return n;
        }
        int len = n.length();
        while (n.substring(0, len).getBytes(StandardCharsets.UTF_8).length > 63) {
            len--;
        }
        return n.substring(0, len);
    }

    /** Records that {@code target} holds {@code source}; another source table already there is an error. */
    private static void claim(Connection c, WarehouseSettings s, String target, TableId source)
            throws SQLException, FerryException {
        String tables = Sql.qualified(s.schema(), PostgresSink.TABLES);
        String sourceName = Sql.ident(source.schema()) + "." + Sql.ident(source.name());
        try (PreparedStatement ins = c.prepareStatement("INSERT INTO " + tables
                + " (target_table, source_table) VALUES (?, ?) ON CONFLICT (target_table) DO NOTHING");
             PreparedStatement sel = c.prepareStatement("SELECT source_table FROM " + tables + " WHERE target_table = ?")) {
            ins.setString(1, target);
            ins.setString(2, sourceName);
            ins.executeUpdate();
            sel.setString(1, target);
            try (ResultSet rs = sel.executeQuery()) {
                rs.next();
                String owner = rs.getString(1);
                if (!owner.equals(sourceName)) {
                    throw FerryException.config("Source tables " + owner + " and " + sourceName + " both map to the "
                            + "warehouse table " + target + ". Set the postgres sink's table_name (and "
                            + "history_table_name) to a pattern with {schema}, such as {schema}_{table}, or use one "
                            + "schema per pipeline.");
                }
            }
        }
    }

    private record Existing(String type, boolean notNull, boolean key) {
    }

    /** Creates the table, or adds missing columns, widens types and relaxes columns the source dropped. */
    private static void evolve(Connection c, String table, TableSchema schema, boolean history, int logPartition)
            throws SQLException, FerryException {
        Map<String, Existing> existing = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
                + "a.attnotnull, coalesce(a.attnum = ANY (i.indkey), false) FROM pg_attribute a "
                + "LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
                + "WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    existing.put(rs.getString(1), new Existing(rs.getString(2), rs.getBoolean(3), rs.getBoolean(4)));
                }
            }
        }
        List<String> keys = new ArrayList<>();
        for (int k : schema.keyIndexes()) {
            keys.add(schema.column(k).name());
        }
        try (Statement st = c.createStatement()) {
            if (existing.isEmpty()) {
                List<String> defs = new ArrayList<>(!history ? List.of()
                        : logPartition < 0 ? HISTORY_META : PARTITIONED_HISTORY_META);
                for (Column col : schema.columns()) {
                    defs.add(Sql.ident(col.name()) + " " + TargetTypes.of(col));
                }
                if (!history) {
                    defs.add("PRIMARY KEY (" + String.join(", ", keys.stream().map(Sql::ident).toList()) + ")");
                }
                st.execute("CREATE TABLE " + table + " (" + String.join(", ", defs) + ")");
                LOG.info("created {} table {} for {}", history ? "history" : "mirror", table, schema.table());
                return;
            }
            if (history && existing.containsKey(PARTITION) != logPartition >= 0) {
                throw FerryException.config("The history table " + table + " of " + schema.table() + " was written from "
                        + "a Log of " + (logPartition >= 0 ? "one partition" : "several partitions") + " (its key is "
                        + (logPartition >= 0 ? "_ferry_offset, without _ferry_partition" : "(_ferry_partition, _ferry_offset)")
                        + "), but this sink delivers a Log of " + (logPartition >= 0 ? "several" : "one") + ", whose "
                        + "offsets start again. Give the new Log its own history tables (set the postgres sink's "
                        + "history_table_name, or its schema), or drop the old ones to start over.");
            }
            if (!history) {
                Set<String> pk = new LinkedHashSet<>();
                existing.forEach((name, e) -> {
                    if (e.key()) {
                        pk.add(name);
                    }
                });
                if (!pk.equals(new LinkedHashSet<>(keys))) {
                    throw new FerryException(ErrorKind.DATA, "The mirror table " + table + " has the primary key "
                            + pk + ", but the source table " + schema.table() + " now has the key " + keys + ". Give "
                            + "the mirror the same primary key (ALTER TABLE ... DROP CONSTRAINT ..., ADD PRIMARY KEY "
                            + "(...)), or drop the mirror table and re-snapshot the source table to rebuild it.");
                }
            }
            for (Column col : schema.columns()) {
                String wanted = TargetTypes.of(col);
                Existing e = existing.get(col.name());
                if (e == null) {
                    // IF NOT EXISTS: the sink of another partition of a shared Log may have added it since the
                    // look above (its write held the table; the column appears once it committed)
                    st.execute("ALTER TABLE " + table + " ADD COLUMN IF NOT EXISTS " + Sql.ident(col.name()) + " " + wanted);
                    LOG.info("added column {} {} to {} (new at the source {})", col.name(), wanted, table,
                            schema.table());
                    continue;
                }
                switch (TargetTypes.fit(e.type(), wanted)) {
                    case FITS -> { }
                    case WIDEN -> {
                        st.execute("ALTER TABLE " + table + " ALTER COLUMN " + Sql.ident(col.name()) + " TYPE " + wanted
                                + " USING " + Sql.ident(col.name()) + "::" + wanted);
                        LOG.info("widened column {} of {} from {} to {} (changed at the source {})",
                                col.name(), table, e.type(), wanted, schema.table());
                    }
                    case INCOMPATIBLE -> throw new FerryException(ErrorKind.DATA, "Column " + col.name() + " of "
                            + schema.table() + " is now " + col.sourceType() + " at the source (" + col.type()
                            + ", stored as " + wanted + "), but the warehouse table " + table + " has it as " + e.type()
                            + ", which cannot hold the new values without changing what the old ones mean. Convert the "
                            + "column yourself (ALTER TABLE " + table + " ALTER COLUMN " + Sql.ident(col.name())
                            + " TYPE ... USING ...), or rename it so that Ferry adds a new one, then run again.");
                }
            }
            for (Map.Entry<String, Existing> e : existing.entrySet()) {
                boolean ours = history && e.getKey().startsWith(RESERVED_PREFIX);
                if (!ours && e.getValue().notNull() && !e.getValue().key() && schema.indexOf(e.getKey()) < 0) {
                    st.execute("ALTER TABLE " + table + " ALTER COLUMN " + Sql.ident(e.getKey()) + " DROP NOT NULL");
                    LOG.info("column {} of {} is gone at the source; it stays in the warehouse, now nullable",
                            e.getKey(), table);
                }
            }
        }
    }

    private static String columnList(TableSchema schema) {
        List<String> names = new ArrayList<>();
        for (Column c : schema.columns()) {
            names.add(Sql.ident(c.name()));
        }
        return String.join(", ", names);
    }

    /**
     * Appends events to the history table, one row each: op, position, Log offset, commit time,
     * transaction id, unchanged columns, and the row (the old row for a delete; none for a truncate).
     *
     * @param lines receives the Log offset of each copied line, for messages
     */
    void appendHistory(Connection c, List<ChangeEvent> events, long[] offsets, List<Long> lines)
            throws SQLException, IOException {
        String meta = partition < 0 ? HISTORY_META_NAMES : "\"_ferry_partition\", " + HISTORY_META_NAMES;
        try (Writer w = copy(c, history, meta + ", " + columnList)) {
            StringBuilder b = new StringBuilder(256);
            for (int i = 0; i < events.size(); i++) {
                ChangeEvent e = events.get(i);
                lines.add(offsets[i]);
                b.setLength(0);
                if (partition >= 0) {
                    b.append(partition).append('\t');
                }
                b.append(offsets[i]).append('\t').append(e.op().code()).append('\t');
                CopyText.appendField(b, LogicalType.STRING, null, e.position().display());
                b.append('\t').append(e.committedAt()).append('\t');
                b.append(e.txId() == 0 ? CopyText.NULL : Long.toString(e.txId())).append('\t');
                if (e.unchanged().isEmpty()) {
                    b.append(CopyText.NULL);
                } else {
                    List<String> names = new ArrayList<>();
                    for (Column col : schema.columns()) {
                        if (e.unchanged().contains(col.name())) {
                            names.add(col.name());
                        }
                    }
                    CopyText.appendField(b, LogicalType.ARRAY, LogicalType.STRING, names);
                }
                Row row = e.after() != null ? e.after() : e.before();
                for (int k = 0; k < schema.size(); k++) {
                    Column col = schema.column(k);
                    b.append('\t');
                    Object v = row == null || e.unchanged().contains(col.name()) ? null : row.get(k);
                    CopyText.appendField(b, col.type(), col.elementType(), v);
                }
                w.append(b).append('\n');
            }
        }
    }

    /** One line of the staging table: the values (NULL where {@code unknown}), the group and the link. */
    private void stageLine(Writer w, StringBuilder b, Object[] values, BitSet unknown, int group, String link)
            throws IOException {
        b.setLength(0);
        for (int k = 0; k < schema.size(); k++) {
            Column col = schema.column(k);
            CopyText.appendField(b, col.type(), col.elementType(), unknown.get(k) ? null : values[k]);
            b.append('\t');
        }
        w.append(b).append(Integer.toString(group)).append('\t').append(link).append('\n');
    }

    /**
     * Applies collapsed changes to the mirror: COPY into the staging table, then one delete and one
     * upsert per group.
     *
     * @param lines       receives the Log offset of each copied line, for messages
     * @param transaction the sink's number of the open transaction
     */
    void applyToMirror(Connection c, MirrorChanges changes, List<Long> lines, long transaction)
            throws SQLException, IOException {
        Map<BitSet, Integer> groups = new LinkedHashMap<>();
        boolean deletes = false;
        if (stagedIn == transaction) {
            try (Statement st = c.createStatement()) {
                st.execute("TRUNCATE " + stage); // an earlier part of this transaction loaded it
            }
        }
        stagedIn = transaction;
        Map<Integer, BitSet> filled = new LinkedHashMap<>();
        int links = 0;
        try (Writer w = copy(c, stage, columnList + ", " + GROUP + ", " + LINK)) {
            StringBuilder b = new StringBuilder(256);
            for (MirrorChanges.Change ch : changes.changes()) {
                lines.add(ch.offset());
                int group;
                if (ch.delete()) {
                    group = -1;
                    deletes = true;
                } else {
                    group = groups.computeIfAbsent(ch.unchanged(), u -> u.isEmpty() ? 0 : groups.size() + 1);
                }
                String link = "\\N";
                if (ch.from() != null) {
                    link = Integer.toString(++links);
                    filled.put(group, ch.unchanged());
                    lines.add(ch.offset());
                    stageLine(w, b, ch.from(), new BitSet(), FROM, link);
                }
                stageLine(w, b, ch.values(), ch.unchanged(), group, link);
            }
        }
        int[] keys = schema.keyIndexes();
        List<String> keyNames = new ArrayList<>();
        for (int k : keys) {
            keyNames.add(Sql.ident(schema.column(k).name()));
        }
        try (Statement st = c.createStatement()) {
            // a key change's values it left unsent, from the old key's row, before the deletes remove it
            for (Map.Entry<Integer, BitSet> f : filled.entrySet()) {
                List<String> sets = new ArrayList<>();
                for (int i = f.getValue().nextSetBit(0); i >= 0; i = f.getValue().nextSetBit(i + 1)) {
                    String n = Sql.ident(schema.column(i).name());
                    sets.add(n + " = m." + n);
                }
                List<String> match = new ArrayList<>();
                for (String k : keyNames) {
                    match.add("m." + k + " = o." + k);
                }
                // all of the row's values known now: its upsert sets every column (group 0)
                st.execute("UPDATE " + stage + " s SET " + String.join(", ", sets) + ", " + GROUP + " = 0 FROM " + stage
                        + " o JOIN " + mirror + " m ON " + String.join(" AND ", match) + " WHERE o." + GROUP + " = " + FROM
                        + " AND o." + LINK + " = s." + LINK + " AND s." + GROUP + " = " + f.getKey());
                groups.putIfAbsent(new BitSet(), 0);
            }
            // deletes first: two keys Java tells apart may be one key to the warehouse (numeric 1.0 and
            // 1.00, which an update changing only the scale sends as a key change); the delete of the old
            // one comes before the write of the new one in the Log, and must not remove it
            if (deletes) {
                List<String> match = new ArrayList<>();
                for (String k : keyNames) {
                    match.add("m." + k + " = s." + k);
                }
                st.execute("DELETE FROM " + mirror + " m USING " + stage + " s WHERE s." + GROUP + " = -1 AND "
                        + String.join(" AND ", match));
            }
            for (Map.Entry<BitSet, Integer> g : groups.entrySet()) {
                List<String> sets = new ArrayList<>();
                for (int i = 0; i < schema.size(); i++) {
                    if (!schema.column(i).key() && !g.getKey().get(i)) {
                        String n = Sql.ident(schema.column(i).name());
                        sets.add(n + " = EXCLUDED." + n);
                    }
                }
                st.execute("INSERT INTO " + mirror + " (" + columnList + ") SELECT " + columnList + " FROM " + stage
                        + " WHERE " + GROUP + " = " + g.getValue() + " ON CONFLICT (" + String.join(", ", keyNames)
                        + ") DO " + (sets.isEmpty() ? "NOTHING" : "UPDATE SET " + String.join(", ", sets)));
            }
        }
    }

    /**
     * Empties the mirror: the source table was truncated. For the sink of one partition of a Log of
     * several, the truncate (which every partition carries) empties only the rows of this partition:
     * the keys its history holds, since every change of a key is in one partition. A whole-table
     * TRUNCATE would also remove rows another partition's worker, further ahead, wrote after it.
     */
    void truncateMirror(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            if (partition < 0) {
                st.execute("TRUNCATE " + mirror);
                return;
            }
            List<String> keys = new ArrayList<>();
            for (int k : schema.keyIndexes()) {
                keys.add(Sql.ident(schema.column(k).name()));
            }
            String keyList = "(" + String.join(", ", keys) + ")";
            st.execute("DELETE FROM " + mirror + " WHERE " + keyList + " IN (SELECT " + String.join(", ", keys) + " FROM "
                    + history + " WHERE \"_ferry_partition\" = " + partition + ")");
        }
    }

    private static Writer copy(Connection c, String table, String columns) throws SQLException {
        PGCopyOutputStream out = new PGCopyOutputStream(c.unwrap(PGConnection.class),
                "COPY " + table + " (" + columns + ") FROM STDIN", COPY_BUFFER);
        return new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), COPY_BUFFER);
    }
}
