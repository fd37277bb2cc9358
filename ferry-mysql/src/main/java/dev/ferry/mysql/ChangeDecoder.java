package dev.ferry.mysql;

import com.github.shyiko.mysql.binlog.event.DeleteRowsEventData;
import com.github.shyiko.mysql.binlog.event.Event;
import com.github.shyiko.mysql.binlog.event.EventHeaderV4;
import com.github.shyiko.mysql.binlog.event.EventType;
import com.github.shyiko.mysql.binlog.event.GtidEventData;
import com.github.shyiko.mysql.binlog.event.MariadbGtidEventData;
import com.github.shyiko.mysql.binlog.event.QueryEventData;
import com.github.shyiko.mysql.binlog.event.RotateEventData;
import com.github.shyiko.mysql.binlog.event.TableMapEventData;
import com.github.shyiko.mysql.binlog.event.UpdateRowsEventData;
import com.github.shyiko.mysql.binlog.event.WriteRowsEventData;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import java.io.IOException;
import java.io.Serializable;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns binlog events, in order, into change events with their positions. Pure but for the table
 * shapes, which are passed in; a captured event stream makes a unit test.
 *
 * <p>Design notes.
 * <ul>
 *   <li>A transaction starts at its GTID event (MariaDB; MySQL with GTIDs) or at its BEGIN query
 *       event, and ends at its XID event or COMMIT query. A DDL statement is a transaction of its own
 *       (a standalone GTID then the statement, or the statement alone).</li>
 *   <li>Every row of the transaction counts towards the index, captured or not, so the index of a
 *       row does not depend on the configuration; a row's position is (file, transaction start, index).</li>
 *   <li>Between transactions the position is (file, end of the last event, -1): reading resumes
 *       exactly there. Positions never move backwards (the server replays a file's FORMAT_DESCRIPTION
 *       event at each connection).</li>
 *   <li>Events at or before {@code resumeAfter} are dropped: the Log already has them.</li>
 * </ul>
 */
final class ChangeDecoder {
    /** Table shapes for the decoder; lookups may read the catalog. */
    interface Shapes {
        /** The shape of a captured table for its TABLE_MAP event, or null when the table is not captured. */
        TableShape of(TableMapEventData map) throws FerryException;

        /**
         * The last known shape of a captured table (for TRUNCATE and DROP; without columns when the table
         * is already gone and was never seen), empty when the table is not captured.
         */
        Optional<TableShape> known(TableId table) throws FerryException;

        /** A DDL statement named the table: forget what is known of its columns. */
        void changed(TableId table);
    }

    private final Shapes shapes;
    private final MySqlPosition resumeAfter;
    private final Map<Long, TableMapEventData> tableMaps = new HashMap<>();

    private String file;
    private MySqlPosition quiet;
    private boolean inTransaction;
    private boolean standalone;
    private long txOffset;
    private String txGtid;
    private long txId;
    private Instant txTime;
    private long txIndex;

    /**
     * @param start       where reading starts: a quiet position, or the start of the transaction of {@code resumeAfter}
     * @param resumeAfter the last position the Log holds, or null
     */
    ChangeDecoder(Shapes shapes, MySqlPosition start, MySqlPosition resumeAfter) {
        this.shapes = shapes;
        this.resumeAfter = resumeAfter;
        this.file = start.file();
        this.quiet = MySqlPosition.at(start.file(), start.offset());
    }

    /** The position between transactions reached so far. */
    MySqlPosition quiet() {
        return quiet;
    }

    boolean inTransaction() {
        return inTransaction;
    }

    /** Decodes one event, adding the change events it yields to {@code out}. */
    void decode(Event event, List<ChangeEvent> out) throws FerryException {
        EventHeaderV4 h = event.getHeader();
        EventType type = h.getEventType();
        switch (type) {
            case ROTATE -> {
                RotateEventData r = event.getData();
                file = r.getBinlogFilename();
                advance(MySqlPosition.at(file, r.getBinlogPosition()));
            }
            case MARIADB_GTID -> {
                MariadbGtidEventData g = event.getData();
                // the server id of a MariaDB GTID is the event header's
                begin(h, g.getDomainId() + "-" + h.getServerId() + "-" + g.getSequence(), g.getSequence());
                standalone = (g.getFlags() & MariadbGtidEventData.FL_STANDALONE) != 0;
            }
            case GTID -> {
                GtidEventData g = event.getData();
                begin(h, g.getMySqlGtid() == null ? null : g.getMySqlGtid().toString(),
                        g.getMySqlGtid() == null ? h.getPosition() : g.getMySqlGtid().getTransactionId());
                // MySQL writes a DDL as GTID + QUERY, with no BEGIN and no XID; BEGIN says a transaction follows
                standalone = true;
            }
            case QUERY -> query(h, event.getData(), out);
            case TABLE_MAP -> {
                TableMapEventData m = event.getData();
                tableMaps.put(m.getTableId(), m);
            }
            case WRITE_ROWS, EXT_WRITE_ROWS -> {
                WriteRowsEventData d = event.getData();
                requireFullImage(d.getTableId(), d.getIncludedColumns());
                for (Serializable[] row : d.getRows()) {
                    emit(Op.CREATE, d.getTableId(), null, row, out);
                }
            }
            case UPDATE_ROWS, EXT_UPDATE_ROWS -> {
                UpdateRowsEventData d = event.getData();
                requireFullImage(d.getTableId(), d.getIncludedColumnsBeforeUpdate());
                requireFullImage(d.getTableId(), d.getIncludedColumns());
                for (Map.Entry<Serializable[], Serializable[]> row : d.getRows()) {
                    emit(Op.UPDATE, d.getTableId(), row.getKey(), row.getValue(), out);
                }
            }
            case DELETE_ROWS, EXT_DELETE_ROWS -> {
                DeleteRowsEventData d = event.getData();
                requireFullImage(d.getTableId(), d.getIncludedColumns());
                for (Serializable[] row : d.getRows()) {
                    emit(Op.DELETE, d.getTableId(), row, null, out);
                }
            }
            case XID -> commit(h);
            case FORMAT_DESCRIPTION, HEARTBEAT, IGNORABLE, ROWS_QUERY, ANNOTATE_ROWS, PREVIOUS_GTIDS, ANONYMOUS_GTID,
                 BINLOG_CHECKPOINT, MARIADB_GTID_LIST, STOP, TRANSACTION_CONTEXT, VIEW_CHANGE, INTVAR, RAND, USER_VAR -> {
                // no rows in these
                if (!inTransaction && h.getNextPosition() > 0 && h.getTimestamp() > 0) {
                    advance(MySqlPosition.at(file, h.getNextPosition()));
                }
            }
            default -> {
                if (!inTransaction) {
                    // between transactions: no rows can be in it (an event type newer than the library)
                    if (h.getNextPosition() > 0 && h.getTimestamp() > 0) {
                        advance(MySqlPosition.at(file, h.getNextPosition()));
                    }
                    return;
                }
                throw new FerryException(ErrorKind.PREREQUISITE, "The binlog has an event Ferry cannot read ("
                    + type + ", at " + file + ":" + h.getPosition() + "): compressed binlog events (MariaDB's "
                    + "log_bin_compress, MySQL's binlog_transaction_compression), partial JSON updates "
                    + "(binlog_row_value_options=PARTIAL_JSON) or an incident the server logged. Ferry stops rather "
                    + "than skip the rows it may hold. Turn that setting off; the changes written meanwhile need a "
                    + "new snapshot (ferry drop, then run again).");
            }
        }
    }

    /**
     * The library hands over only the columns a row event includes, packed together: with a row image
     * that is not full (binlog_row_image=MINIMAL or NOBLOB, which a session may set) cell i would not be
     * column i. Ferry needs full images.
     */
    private void requireFullImage(long tableId, java.util.BitSet included) throws FerryException {
        TableMapEventData map = tableMaps.get(tableId);
        if (map == null || included == null) {
            return; // a missing map is reported where the rows are decoded
        }
        int columns = map.getColumnTypes().length;
        if (included.cardinality() != columns || included.nextClearBit(0) < columns) {
            throw new FerryException(ErrorKind.PREREQUISITE, "The binlog has a row image of "
                    + map.getDatabase() + "." + map.getTable() + " without every column (" + included.cardinality()
                    + " of " + columns + "), at " + file + ":" + txOffset + ": a session ran with binlog_row_image="
                    + "MINIMAL or NOBLOB. Ferry needs full row images and stops rather than guess the missing values. "
                    + "Keep binlog_row_image=FULL for every session, then re-snapshot that table (ferry drop, then run "
                    + "again).");
        }
    }

    private void begin(EventHeaderV4 h, String gtid, long id) {
        inTransaction = true;
        txOffset = h.getPosition();
        txGtid = gtid;
        txId = id;
        txTime = Instant.ofEpochMilli(h.getTimestamp());
        txIndex = 0;
        tableMaps.clear();
    }

    private void commit(EventHeaderV4 h) {
        inTransaction = false;
        standalone = false;
        advance(MySqlPosition.at(file, h.getNextPosition()));
    }

    private void query(EventHeaderV4 h, QueryEventData q, List<ChangeEvent> out) throws FerryException {
        String sql = q.getSql().strip();
        if (sql.equalsIgnoreCase("BEGIN") || sql.regionMatches(true, 0, "XA START", 0, 8)) {
            if (!inTransaction) {
                begin(h, null, h.getPosition());
            }
            standalone = false;
            return;
        }
        if (sql.equalsIgnoreCase("COMMIT") || sql.equalsIgnoreCase("ROLLBACK") || sql.regionMatches(true, 0, "XA END", 0, 6)) {
            commit(h);
            return;
        }
        if (!inTransaction || standalone) {
            if (!inTransaction) {
                begin(h, null, h.getPosition());
            }
            ddl(q.getDatabase(), sql, out);
            commit(h);
        }
        if (inTransaction && !standalone && ROW_CHANGING.matcher(sql).lookingAt()) {
            // a session that set binlog_format=STATEMENT (or MIXED) wrote its changes as SQL: their rows are
            // not in the binlog, and skipping the statement would lose them without a word
            throw new FerryException(ErrorKind.PREREQUISITE, "The binlog has a change written as a statement, not "
                    + "as rows, at " + new MySqlPosition(file, txOffset, false, txIndex, txGtid).display() + " ("
                    + abbreviate(sql) + "): a session ran with binlog_format=STATEMENT or MIXED. Ferry reads row "
                    + "events only and stops rather than lose that change. Keep binlog_format=ROW for every session "
                    + "(and revoke the privilege to change it: SYSTEM_VARIABLES_ADMIN / SUPER), then re-snapshot the "
                    + "tables the statement changed (ferry drop, then run again).");
        }
        // other statements inside a transaction (SAVEPOINT, ROLLBACK TO) carry no rows
    }

    private static final java.util.regex.Pattern ROW_CHANGING = java.util.regex.Pattern.compile(
            "(?i)\\s*(insert|update|delete|replace|load\\s+data|load\\s+xml)\\b");

    private static String abbreviate(String sql) {
        return sql.length() > 120 ? sql.substring(0, 117) + "..." : sql;
    }

    private void ddl(String database, String sql, List<ChangeEvent> out) throws FerryException {
        Ddl statement = Ddl.parse(sql, database);
        for (TableId table : statement.tables()) {
            Optional<TableShape> shape = statement.empties() ? shapes.known(table) : Optional.empty();
            shapes.changed(table);
            if (shape.isPresent()) {
                MySqlPosition p = new MySqlPosition(file, txOffset, false, txIndex++, txGtid);
                if (resumeAfter == null || p.compareTo(resumeAfter) > 0) {
                    out.add(new ChangeEvent(Op.TRUNCATE, shape.get().schema(), null, null, null, p, txId, txTime));
                }
            }
        }
    }

    private void emit(Op op, long tableId, Serializable[] before, Serializable[] after, List<ChangeEvent> out)
            throws FerryException {
        MySqlPosition p = new MySqlPosition(file, txOffset, false, txIndex++, txGtid);
        TableMapEventData map = tableMaps.get(tableId);
        if (map == null) {
            throw new FerryException(ErrorKind.INTERNAL, "The binlog has a rows event for table id " + tableId
                    + " without its TABLE_MAP event, at " + p.display() + ".");
        }
        if (resumeAfter != null && p.compareTo(resumeAfter) <= 0) {
            return; // the Log has it
        }
        TableShape shape = shapes.of(map);
        if (shape == null) {
            return;
        }
        try {
            out.add(new ChangeEvent(op, shape.schema(), row(shape, before), row(shape, after), null, p, txId, txTime));
        } catch (IOException | RuntimeException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Cannot decode a row of " + shape.table() + " at " + p.display()
                    + ": " + e + ". Ferry stopped rather than guess; please report this with the table's definition.", e);
        }
    }

    private static Row row(TableShape shape, Serializable[] cells) throws IOException {
        if (cells == null) {
            return null;
        }
        Object[] values = new Object[shape.columns().size()];
        for (int i = 0; i < values.length && i < cells.length; i++) {
            values[i] = Values.fromBinlog(shape.columns().get(i), cells[i]);
        }
        return Row.wrap(values);
    }

    private void advance(MySqlPosition p) {
        if (p.compareTo(quiet) > 0) {
            quiet = p;
        }
    }
}
