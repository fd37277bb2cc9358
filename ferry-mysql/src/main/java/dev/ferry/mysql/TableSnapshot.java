package dev.ferry.mysql;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.source.FetchSizing;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The initial snapshot: every captured table read in one consistent snapshot transaction, whose
 * binlog position is where streaming starts, so snapshot and stream meet exactly.
 *
 * <p>Design notes. MariaDB reports the binlog position of a {@code START TRANSACTION WITH CONSISTENT
 * SNAPSHOT} in the status variables {@code binlog_snapshot_file} and {@code binlog_snapshot_position},
 * taken atomically with the snapshot: no lock at all. MySQL has no such variables; there a global read
 * lock ({@code FLUSH TABLES WITH READ LOCK}, which needs RELOAD) is held only while the transaction
 * starts and the position is read. Tables with a primary key are read in chunks by key ({@code WHERE
 * (k) > (last) ORDER BY k LIMIT n}), others in one streamed query (fetch size), so memory stays
 * bounded. Both are read streamed (a fetch size): the driver holds one fetch before the first of its
 * rows is read, each sized by the rows' width ({@link FetchSizing}: about 4 MB, at most twice the fetch
 * before, at most {@code snapshot_chunk_rows} rows), so 4,096 rows of a megabyte are never asked for at
 * once, and a chunk's reading stops at the batch's byte bound (the next chunk goes on from the last key
 * read). Rows are numbered across the whole snapshot: that index is their position.
 */
final class TableSnapshot implements AutoCloseable {
    private final Connection connection;
    private final TableShapes shapes;
    private final List<TableId> tables;
    private final int chunkRows;
    private final Instant startedAt = Instant.now();
    private String file;
    private long offset;

    private int tableIndex = -1;
    private TableShape shape;
    private List<Object> lastKey;
    private boolean tableDone = true;
    private Statement streaming;
    private ResultSet streamed;
    private long rows;
    /** Sizes the current table's chunks or fetches by the width of its rows so far. */
    private FetchSizing sizing;

    TableSnapshot(Connection connection, TableShapes shapes, List<TableId> tables, int chunkRows) {
        this.connection = connection;
        this.shapes = shapes;
        this.tables = tables;
        this.chunkRows = chunkRows;
    }

    /** Starts the snapshot transaction and reads its binlog position. */
    void begin(String address) throws SQLException, FerryException {
        try (Statement s = connection.createStatement()) {
            s.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
            s.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
            try (ResultSet rs = s.executeQuery("SHOW STATUS LIKE 'binlog_snapshot_%'")) {
                while (rs.next()) {
                    if (rs.getString(1).equalsIgnoreCase("binlog_snapshot_file")) {
                        file = rs.getString(2);
                    } else if (rs.getString(1).equalsIgnoreCase("binlog_snapshot_position")) {
                        offset = Long.parseLong(rs.getString(2));
                    }
                }
            }
            if (file == null || file.isEmpty()) {
                beginUnderReadLock(s, address);
            }
        }
    }

    /** MySQL: the snapshot and its position under a brief global read lock. */
    private void beginUnderReadLock(Statement s, String address) throws SQLException, FerryException {
        s.execute("ROLLBACK");
        try {
            s.execute("FLUSH TABLES WITH READ LOCK");
        } catch (SQLException e) {
            throw new FerryException(ErrorKind.PREREQUISITE, "The server at " + address + " does not report the binlog "
                    + "position of a consistent snapshot (binlog_snapshot_file, a MariaDB feature), and the user may not "
                    + "take the brief global read lock that finds it on MySQL: " + e.getMessage() + ". Grant RELOAD "
                    + "(GRANT RELOAD ON *.* TO ...), or use snapshot: never and copy the tables yourself.", e);
        }
        try {
            s.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
            try (ResultSet rs = Connections.binlogStatus(s)) {
                if (!rs.next()) {
                    throw new FerryException(ErrorKind.PREREQUISITE, "The server at " + address + " has no binlog "
                            + "(SHOW MASTER STATUS is empty). Enable log_bin and restart it.");
                }
                file = rs.getString(1);
                offset = rs.getLong(2);
            }
        } finally {
            s.execute("UNLOCK TABLES");
        }
    }

    /** Where streaming starts once the snapshot is read. */
    MySqlPosition end() {
        return MySqlPosition.at(file, offset);
    }

    long rows() {
        return rows;
    }

    int tableCount() {
        return tables.size();
    }

    /**
     * The next snapshot reads, at most {@code max} and about {@code maxBytes} of them (the row that
     * reaches it is the last); empty once every table is read.
     */
    List<ChangeEvent> next(int max, long maxBytes) throws SQLException, FerryException {
        List<ChangeEvent> out = new ArrayList<>();
        long[] bytes = {0};
        while (out.size() < max && bytes[0] < maxBytes) {
            if (tableDone) {
                closeStreaming();
                if (++tableIndex >= tables.size()) {
                    break;
                }
                TableId table = tables.get(tableIndex);
                shape = shapes.catalogShape(table).orElseThrow(() -> new FerryException(ErrorKind.CONFIG, "Table "
                        + table + " disappeared before the snapshot read it."));
                lastKey = null;
                tableDone = false;
                sizing = new FetchSizing(Math.max(FetchSizing.FIRST_ROWS, chunkRows));
            }
            if (shape.keyed()) {
                readChunk(Math.min(Math.min(chunkRows, sizing.next()), max - out.size()), maxBytes, out, bytes);
            } else {
                readStreamed(max - out.size(), maxBytes, out, bytes);
            }
        }
        return out;
    }

    /**
     * Reads the next chunk of a keyed table, streamed: the driver holds one fetch of it at a time, each
     * sized by the rows' width, and reading stops at {@code maxBytes}; the next chunk starts after the
     * last key read, so a chunk cut short continues where it stopped.
     */
    private void readChunk(int limit, long maxBytes, List<ChangeEvent> out, long[] bytes) throws SQLException {
        List<ColumnDef> key = shape.columns().stream().filter(ColumnDef::key).toList();
        String keyList = key.stream().map(c -> Connections.quote(c.name())).collect(Collectors.joining(", "));
        // temporal keys are read back as the server's text: the driver turns a DATETIME into a Timestamp in
        // the JVM's time zone even for getString, which moves a time inside a daylight-saving gap by an hour
        String keyReads = key.stream().map(c -> temporal(c) ? "CAST(" + Connections.quote(c.name()) + " AS CHAR)"
                : Connections.quote(c.name())).collect(Collectors.joining(", "));
        StringBuilder sql = new StringBuilder("SELECT ").append(selectList()).append(", ").append(keyReads)
                .append(" FROM ").append(from());
        List<Object> params = new ArrayList<>();
        if (lastKey != null) {
            // (a > ?) OR (a = ? AND b > ?) ...: the form every MySQL and MariaDB version reads by index range
            List<String> terms = new ArrayList<>();
            for (int i = 0; i < key.size(); i++) {
                StringBuilder t = new StringBuilder("(");
                for (int j = 0; j < i; j++) {
                    t.append(Connections.quote(key.get(j).name())).append(" = ? AND ");
                    params.add(lastKey.get(j));
                }
                t.append(Connections.quote(key.get(i).name())).append(" > ?)");
                params.add(lastKey.get(i));
                terms.add(t.toString());
            }
            sql.append(" WHERE ").append(String.join(" OR ", terms));
        }
        sql.append(" ORDER BY ").append(keyList).append(" LIMIT ").append(limit);
        int n = 0;
        boolean more = true;
        try (PreparedStatement ps = connection.prepareStatement(sql.toString())) {
            for (int i = 0; i < params.size(); i++) {
                ps.setObject(i + 1, params.get(i));
            }
            // streamed: without a fetch size the driver reads the whole LIMIT before the first row
            ps.setFetchSize(sizing.next());
            try (ResultSet rs = ps.executeQuery()) {
                while (bytes[0] < maxBytes && (more = rs.next())) {
                    out.add(read(rs, bytes));
                    List<Object> k = new ArrayList<>(key.size());
                    for (int i = 0; i < key.size(); i++) {
                        int at = shape.columns().size() + 1 + i;
                        k.add(temporal(key.get(i)) ? rs.getString(at) : rs.getObject(at));
                    }
                    lastKey = k;
                    n++;
                    rs.setFetchSize(sizing.next());
                }
            }
        }
        tableDone = !more && n < limit; // a chunk cut at maxBytes goes on from lastKey
    }

    private static boolean temporal(ColumnDef c) {
        return switch (c.dataType()) {
            case "date", "datetime", "timestamp", "time" -> true;
            default -> false;
        };
    }

    private void readStreamed(int max, long maxBytes, List<ChangeEvent> out, long[] bytes) throws SQLException {
        if (streamed == null) {
            streaming = connection.createStatement();
            // streamed in fetches: never the whole table in memory, and each fetch sized by the rows' width
            streaming.setFetchSize(sizing.first());
            streamed = streaming.executeQuery("SELECT " + selectList() + " FROM " + from());
        }
        for (int n = 0; n < max && bytes[0] < maxBytes; n++) {
            if (!streamed.next()) {
                tableDone = true;
                return;
            }
            out.add(read(streamed, bytes));
            streamed.setFetchSize(sizing.next());
        }
    }

    /** The row {@code rs} is at; adds its width to {@code bytes} and to the table's {@link #sizing}. */
    private ChangeEvent read(ResultSet rs, long[] bytes) throws SQLException {
        Object[] values = new Object[shape.columns().size()];
        long width = 0;
        for (int i = 0; i < values.length; i++) {
            values[i] = Values.fromResult(shape.columns().get(i), rs, i + 1);
            width += values[i] instanceof byte[] b ? b.length : values[i] instanceof String t ? t.length() : 8;
        }
        sizing.row(width);
        bytes[0] += width;
        MySqlPosition p = new MySqlPosition(file, offset, true, rows++, null);
        return new ChangeEvent(Op.READ, shape.schema(), null, Row.wrap(values), null, p, 0, startedAt);
    }

    private String selectList() {
        return shape.columns().stream().map(Values::selectExpression).collect(Collectors.joining(", "));
    }

    private String from() {
        return Connections.quote(shape.table().schema()) + "." + Connections.quote(shape.table().name());
    }

    private void closeStreaming() throws SQLException {
        if (streamed != null) {
            streamed.close();
            streaming.close();
            streamed = null;
            streaming = null;
        }
    }

    /** Ends the snapshot transaction and its connection. */
    @Override
    public void close() {
        try {
            closeStreaming();
            try (Statement s = connection.createStatement()) {
                s.execute("COMMIT");
            }
        } catch (SQLException ignored) {
            // the connection may be gone; closing it ends the transaction
        }
        Connections.close(connection);
    }
}
