package dev.ferry.jdbc;

import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.source.FetchSizing;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;

/**
 * One table's part of one run, read chunk by chunk: each chunk one keyset-paginated query ({@code WHERE
 * (cursor, key) > (last) ORDER BY cursor, key LIMIT n}) in its own short read-only transaction, so no
 * transaction stays open across chunks and the source's vacuum and replication are never held back.
 *
 * <p>Design notes.
 * <ul>
 *   <li>Full, and every table of a window: a truncate event first, which replaces the sink's copy (of
 *       the window's partition). Full tables are then read whole, by key. A table without a key is read in one streamed
 *       query (fetch size), the one long transaction Ferry cannot avoid there.</li>
 *   <li>Incremental: rows with {@code lower <= cursor <= upper}, where {@code upper} is the cursor's
 *       maximum when the table's read began (rows written meanwhile wait for the next run, so a run
 *       ends on a busy table) and {@code lower} the last mark moved back by the look-back. Rows of the
 *       look-back zone that the last run delivered ({@link DeliveredRows}) are skipped; rows with a
 *       cursor at or past {@code upper} minus the look-back are recorded for the next run.</li>
 *   <li>Window: rows with {@code from <= cursor < to}; marks and recorded rows are left alone.</li>
 *   <li>Memory: a driver holds a whole fetch (some drivers a whole chunk) before the first of its rows
 *       is read, so chunks, fetches and the rows handed out per call are sized by the rows' width
 *       ({@link FetchSizing}: 16 rows first, then about 4 MB of rows of the width seen, at most
 *       {@code chunk_rows} rows per chunk and {@code fetch_size} per fetch). Narrow rows keep the
 *       configured sizes; 10,000 rows of 1 MB are never asked for at once.</li>
 * </ul>
 */
final class TableRead implements AutoCloseable {
    private final Connection connection;
    private final Dialect dialect;
    private final TableShape shape;
    private final int chunkRows;
    private final int fetchSize;
    private final int timeoutSeconds;
    private final Instant committedAt;
    private final LongFunction<JdbcPosition> positions;

    private final Object lower;
    private final boolean lowerInclusive;
    private Object upper;
    private final boolean upperInclusive;
    private final TableSpec.Lookback lookback;
    private Object recordFrom;
    private final DeliveredRows.Reader delivered;
    private final DeliveredRows.Writer record;

    /** Whether the read replaces what the sink holds of the table: a full table, or any table of a window. */
    private final boolean replaces;
    /** Whether the cursor range is a window's. */
    private final boolean windowed;
    /** Whether rows are chosen by their transaction id ({@code cursor: xmin}, not in a window). */
    private final boolean tracksXmin;
    private final Long xminFrom;
    /** The transaction ids of the snapshot of the read's start: every id below the first has ended. */
    private long snapshotXmin;
    private long nextXid;
    private boolean began;
    private boolean done;
    private Object lastCursor;
    private List<Object> lastKey;
    /** A full table's key ranges read on several connections at once ({@code readers:} above 1), or null. */
    private final KeyRanges ranges;
    private final RowReader rowReader;
    private Statement streaming;
    private ResultSet streamed;
    private long rows;
    private long skipped;
    /** Sizes chunks, fetches and the rows of one call by the width of the rows read so far. */
    private final FetchSizing sizing;

    /**
     * @param bounds    the cursor range to read ({@link Bounds}); unused for full tables
     * @param positions the position of the run's next event, given the event's index
     * @param readers   the connections a full table's key ranges are read on beside {@code connection}
     */
    TableRead(Connection connection, Dialect dialect, TableShape shape, JdbcSettings settings, Instant committedAt,
              Bounds bounds, LongFunction<JdbcPosition> positions, Readers readers) {
        this.connection = connection;
        this.dialect = dialect;
        this.shape = shape;
        this.chunkRows = settings.chunkRows();
        this.fetchSize = Math.min(settings.fetchSize(), settings.chunkRows());
        this.timeoutSeconds = (int) settings.statementTimeout().toSeconds();
        this.committedAt = committedAt;
        this.positions = positions;
        this.lower = bounds.lower;
        this.lowerInclusive = bounds.lowerInclusive;
        this.upper = bounds.upper;
        this.upperInclusive = bounds.upperInclusive;
        this.lookback = bounds.lookback;
        this.delivered = bounds.delivered;
        this.record = bounds.record;
        this.replaces = (shape.cursor() < 0 && !shape.xmin()) || bounds.windowed;
        this.windowed = bounds.windowed;
        this.tracksXmin = shape.xmin() && !bounds.windowed;
        this.xminFrom = bounds.xminFrom;
        this.rowReader = new RowReader(shape, dialect);
        this.sizing = new FetchSizing(Math.max(FetchSizing.FIRST_ROWS, chunkRows));
        boolean wholeByKey = shape.keyed() && shape.cursor() < 0 && !shape.xmin();
        this.ranges = wholeByKey && settings.readers() > 1
                ? new KeyRanges(connection, dialect, shape, settings, readers, sizing) : null;
    }

    /**
     * The cursor range of one table's read.
     *
     * @param upper      null: the cursor's maximum when the read begins
     * @param lookback   rows with a cursor at or past {@code upper} moved back by it go to {@code record}
     * @param delivered  the rows the last run delivered, or null
     * @param record     where this run's look-back rows go, or null
     * @param windowed   whether the range is a window's, whose partition the read replaces
     * @param xminFrom   for a {@code cursor: xmin} table outside windows: the oldest transaction id (64 bits)
     *                   whose rows are read, or null for all rows; unused for other tables
     */
    record Bounds(Object lower, boolean lowerInclusive, Object upper, boolean upperInclusive,
                  TableSpec.Lookback lookback, DeliveredRows.Reader delivered, DeliveredRows.Writer record,
                  boolean windowed, Long xminFrom) {
        static final Bounds NONE = new Bounds(null, false, null, true, null, null, null, false, null);
    }

    boolean done() {
        return done;
    }

    long rows() {
        return rows;
    }

    long skipped() {
        return skipped;
    }

    /** The highest cursor value this read could have reached: its upper bound, once known. */
    Object upper() {
        return upper;
    }

    /**
     * The table's next mark: the cursor's upper bound; for {@code cursor: xmin}, the oldest transaction
     * still running when the read began (its rows, committed later, are read by the next run). Null
     * when there is none.
     */
    Object mark() {
        return tracksXmin ? (Object) snapshotXmin : upper;
    }

    private void readSnapshot() throws SQLException {
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("SELECT txid_snapshot_xmin(txid_current_snapshot()), "
                     + "txid_snapshot_xmax(txid_current_snapshot())")) {
            rs.next();
            snapshotXmin = rs.getLong(1);
            nextXid = rs.getLong(2);
        }
    }

    /**
     * Reads the next chunk into {@code out} ({@code next} numbers the events); at most {@code max}
     * events, and about 4 MB of them once the rows' width is known ({@link FetchSizing}). Returns the
     * rows read from the database (skipped ones included).
     */
    int next(int max, List<ChangeEvent> out, long[] next)
            throws SQLException, IOException, FerryException, InterruptedException {
        if (!began) {
            began = true;
            if (replaces) {
                out.add(event(Op.TRUNCATE, null, next));
            }
            if (tracksXmin) {
                readSnapshot();
            }
            if (shape.cursor() < 0) {
                return 0;
            }
            if (upper == null) {
                upper = maxCursor();
                if (upper == null) {
                    done = true;
                    return 0;
                }
            }
            if (record != null) {
                recordFrom = shape.cursorKind().minus(upper, lookback);
            }
        }
        // one call reads about 4 MB of rows: the source's batch stops at a byte bound between calls
        int sized = Math.max(1, Math.min(max, sizing.next()));
        if (!shape.keyed()) {
            return readStreamed(sized, out, next);
        }
        if (ranges != null) {
            int n = ranges.next(sized, row -> emit(row, out, next));
            done = ranges.done();
            return n;
        }
        int limit = Math.min(chunkRows, sized);
        KeyPredicate where = new KeyPredicate();
        StringBuilder sql = new StringBuilder("SELECT ").append(shape.selectList(dialect)).append(" FROM ")
                .append(dialect.from(shape.table()));
        List<String> conditions = new ArrayList<>();
        String cursorColumn = shape.cursor() < 0 ? null : dialect.quote(shape.schema().column(shape.cursor()).name());
        if (cursorColumn != null) {
            // SQLite keeps timestamps as text of any shape ('2026-11-30T07:00:00' sorts after '2026-11-30 07:…'):
            // a window's bounds ('yyyy-MM-dd HH:mm:ss') are compared with the column's value in that shape
            String bounded = windowed && dialect.sqlite() && shape.cursorKind() == CursorValues.TEXT
                    ? "datetime(" + cursorColumn + ")" : cursorColumn;
            if (lower != null) {
                conditions.add(bounded + (lowerInclusive ? " >= ?" : " > ?"));
                where.add(lower, shape.cursorKind());
            }
            conditions.add(bounded + (upperInclusive ? " <= ?" : " < ?"));
            where.add(upper, shape.cursorKind());
        }
        List<String> order = new ArrayList<>();
        List<Object> last = new ArrayList<>();
        List<CursorValues> lastKinds = new ArrayList<>();
        if (cursorColumn != null) {
            order.add(cursorColumn);
            last.add(lastCursor);
            lastKinds.add(shape.cursorKind());
        }
        order.addAll(shape.keyColumns(dialect));
        if (tracksXmin && xminFrom != null) {
            // the row version's 32-bit xmin made a 64-bit id in the epoch of the snapshot's next id (or the one
            // before, for an id above it); rows frozen by vacuum (xmin 2) count as old
            conditions.add("(((?::bigint >> 32) << 32) + xmin::text::bigint - CASE WHEN ((?::bigint >> 32) << 32) "
                    + "+ xmin::text::bigint > ?::bigint THEN 4294967296 ELSE 0 END) >= ?");
            for (long v : new long[] {nextXid, nextXid, nextXid, xminFrom}) {
                where.add(v, CursorValues.INTEGER);
            }
        }
        if (lastKey != null) {
            last.addAll(lastKey);
            lastKinds.addAll(shape.keyKinds());
            conditions.add(where.compare(order, ">", last, lastKinds));
        }
        if (!conditions.isEmpty()) {
            sql.append(" WHERE ").append(String.join(" AND ", conditions));
        }
        sql.append(" ORDER BY ").append(String.join(", ", order)).append(dialect.limit(limit));
        int n = 0;
        try (PreparedStatement ps = connection.prepareStatement(sql.toString())) {
            ps.setFetchSize(Math.min(fetchSize, limit));
            ps.setMaxRows(limit);
            ps.setQueryTimeout(timeoutSeconds);
            where.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    n++;
                    take(rs, out, next);
                }
            }
        } finally {
            connection.commit(); // one chunk, one short transaction
        }
        done = n < limit;
        return n;
    }

    private void take(ResultSet rs, List<ChangeEvent> out, long[] next) throws SQLException, IOException {
        int[] keys = shape.keyIndexes();
        List<Object> key = new ArrayList<>(keys.length);
        for (int i = 0; i < keys.length; i++) {
            key.add(shape.keyKinds().get(i).read(rs, keys[i] + 1));
        }
        // the key's text only matters to the look-back's files: a full table's rows skip it
        String keyText = delivered != null || record != null ? KeyCompare.text(key) : null;
        lastKey = key;
        Comparable<Object> cursor = null;
        if (shape.cursor() >= 0) {
            cursor = shape.cursorKind().read(rs, shape.cursor() + 1);
            lastCursor = cursor;
        }
        if (cursor != null && delivered != null && delivered.delivered(cursor, keyText)) {
            rows++;
            skipped++;
        } else {
            emit(row(rs), out, next);
        }
        if (recordFrom != null && cursor != null && cursor.compareTo(recordFrom) >= 0) {
            record.add(shape.cursorKind().encode(cursor), keyText);
        }
    }

    /** A row read: a read event, or a delete when its soft-delete column is set. */
    private void emit(Row row, List<ChangeEvent> out, long[] next) {
        rows++;
        sizing.row(width(row));
        boolean deleted = shape.softDelete() >= 0 && isSet(row.get(shape.softDelete()));
        out.add(deleted ? event(Op.DELETE, row, next) : event(Op.READ, row, next));
    }

    private static boolean isSet(Object v) {
        if (v == null) {
            return false;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof Long n) {
            return n != 0;
        }
        return !(v instanceof String s && (s.equals("0") || s.equalsIgnoreCase("false")));
    }

    /** A row's width for sizing reads: its encoded size ({@link RowReader}'s rows are encoded; else 8 bytes a value). */
    static long width(Row row) {
        if (row == null) {
            return 0;
        }
        byte[] encoded = row.encodedValues();
        return encoded != null ? encoded.length : 8L * row.size();
    }

    private Row row(ResultSet rs) throws SQLException {
        return rowReader.read(rs);
    }

    private ChangeEvent event(Op op, Row row, long[] next) {
        JdbcPosition p = positions.apply(next[0]++);
        return new ChangeEvent(op, shape.schema(), op == Op.DELETE ? row : null, op == Op.DELETE ? null : row, null, p, 0,
                committedAt);
    }

    private int readStreamed(int max, List<ChangeEvent> out, long[] next) throws SQLException {
        if (streamed == null) {
            streaming = connection.createStatement();
            // never the whole table in memory: the first fetch is small, later ones sized by the rows' width
            streaming.setFetchSize(Math.min(fetchSize, sizing.first()));
            streamed = streaming.executeQuery("SELECT " + shape.selectList(dialect) + " FROM " + dialect.from(shape.table()));
        }
        int n = 0;
        while (n < max) {
            if (!streamed.next()) {
                closeStreaming();
                connection.commit();
                done = true;
                break;
            }
            n++;
            emit(row(streamed), out, next);
            resizeFetch();
        }
        return n;
    }

    /** The streamed query's next fetch: about 4 MB of rows of the width seen, at most {@code fetch_size}. */
    private void resizeFetch() throws SQLException {
        int rows = Math.min(fetchSize, sizing.next());
        if (streamed != null && streamed.getFetchSize() != rows) {
            try {
                streamed.setFetchSize(rows);
            } catch (SQLFeatureNotSupportedException e) {
                // a driver that keeps the statement's fetch size: the first fetch's 16 rows stay
            }
        }
    }

    private Object maxCursor() throws SQLException {
        String c = dialect.quote(shape.schema().column(shape.cursor()).name());
        StringBuilder sql = new StringBuilder("SELECT ").append(c).append(" FROM ").append(dialect.from(shape.table()));
        sql.append(" WHERE ").append(c).append(" IS NOT NULL");
        if (lower != null) {
            sql.append(" AND ").append(c).append(lowerInclusive ? " >= ?" : " > ?");
        }
        // ORDER BY ... DESC LIMIT 1 rather than MAX(): the driver then reports the column's own type
        sql.append(" ORDER BY ").append(c).append(" DESC").append(dialect.limit(1));
        try (PreparedStatement ps = connection.prepareStatement(sql.toString())) {
            ps.setMaxRows(1);
            ps.setQueryTimeout(timeoutSeconds);
            if (lower != null) {
                shape.cursorKind().bind(ps, 1, lower);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? shape.cursorKind().read(rs, 1) : null;
            }
        } finally {
            connection.commit();
        }
    }

    private void closeStreaming() throws SQLException {
        if (streamed != null) {
            streamed.close();
            streaming.close();
            streamed = null;
            streaming = null;
        }
    }

    /** Makes this run's recorded look-back rows durable and visible to the next run. */
    void commitRecord() throws IOException {
        if (record != null) {
            record.commit();
        }
    }

    /** Drops what the read holds open; the recorded rows are committed by the caller, not here. */
    @Override
    public void close() {
        try {
            closeStreaming();
            connection.rollback();
        } catch (SQLException ignored) {
            // the connection may be gone
        }
        try {
            if (delivered != null) {
                delivered.close();
            }
            if (record != null) {
                record.close();
            }
        } catch (IOException ignored) {
            // a read-only file, or a record file that was already committed or is dropped anyway
        }
    }

    /** Where the folder of a table's recorded rows is. */
    static Path folder(Path work, TableShape shape) {
        StringBuilder name = new StringBuilder();
        for (char ch : (shape.table().schema() + "." + shape.table().name()).toCharArray()) {
            if (Character.isLetterOrDigit(ch) || ch == '_' || ch == '-' || ch == '.') {
                name.append(ch);
            } else {
                name.append('%').append(String.format("%04X", (int) ch));
            }
        }
        return work.resolve("delivered").resolve(name.toString());
    }
}
