package dev.ferry.postgres;

import static dev.ferry.postgres.PostgresConnections.quoteIdent;
import static dev.ferry.postgres.PostgresConnections.quoteLiteral;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.Op;
import dev.ferry.event.RowEncoder;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every row of some tables as they were in an exported snapshot: one REPEATABLE READ
 * transaction that imports it, no lock beyond the ACCESS SHARE every SELECT takes. Used for the initial
 * snapshot (the slot's exported snapshot; rows sit at the consistent point) and for tables added
 * while streaming (see {@link TableAdditions}; rows sit in the transaction that added them). Chunked,
 * resumable snapshots that do not hold one long transaction are a later step (see the snapshot issue).
 *
 * <p>Each table's rows come through {@code COPY (SELECT ...) TO STDOUT} in text format, read one row at
 * a time: the server sends a CopyData message per row, the driver reads one message per call, and the
 * socket's flow control holds the server back meanwhile. So the driver holds one row, whatever the
 * table's size and the rows' width. A server-side cursor cannot promise that: the driver keeps a whole
 * fetch of n rows before handing out the first, and n is chosen before the rows are seen, so 2,000 rows
 * sized by narrow rows, then met by rows of a megabyte, were 2 GB (issue 7). pgjdbc's
 * {@code maxResultBuffer} does not rescue a cursor: in 42.7 it throws in the middle of a DataRow, the
 * driver loses the protocol's framing and closes the connection, and the snapshot's transaction with
 * it. COPY's text is each value's output function, as a text-format result carries it
 * ({@link CopyRow}), so rows are the same as a query's.
 */
final class TableCopy {
    private static final Logger LOG = LoggerFactory.getLogger(TableCopy.class);

    private final Connection connection;
    private final String snapshotName;
    private final List<TableId> tables;

    private long lsn;
    private boolean snapshotPositions;
    private long firstIndex;
    private long txId;
    private Instant committed = Instant.now();

    private int tableIndex = -1;
    /** The copy of the table being read; null between tables. */
    private CopyOut copy;
    private final CopyRow row = new CopyRow();
    private TableSchema schema;
    private Column[] columns;
    /** Per column of {@code schema}: whether its values are taken as bytes (see {@link TextValues#takesBytes}). */
    private boolean[] asBytes;
    private final RowEncoder encoder = new RowEncoder();
    private long rowIndex;
    private long tableRows;
    private long tableStartNanos;

    /** The copy of the initial snapshot: rows at the slot's consistent point, before every streamed change. */
    static TableCopy initial(Connection connection, String snapshotName, long consistentPoint, List<TableId> tables) {
        TableCopy copy = new TableCopy(connection, snapshotName, tables);
        copy.lsn = consistentPoint;
        copy.snapshotPositions = true;
        return copy;
    }

    /** A copy placed later, with {@link #placeIn}. */
    TableCopy(Connection connection, String snapshotName, List<TableId> tables) {
        this.connection = connection;
        this.snapshotName = snapshotName;
        this.tables = List.copyOf(tables);
    }

    /** Places the rows in a streamed transaction: they take its LSN, id and time, from index {@code first} on. */
    void placeIn(long transactionLsn, long first, long transactionId, Instant commitTime) {
        lsn = transactionLsn;
        snapshotPositions = false;
        firstIndex = first;
        txId = transactionId;
        committed = commitTime;
    }

    void begin() throws SQLException {
        connection.setAutoCommit(false);
        connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        try (Statement s = connection.createStatement()) {
            s.execute("SET TRANSACTION SNAPSHOT " + quoteLiteral(snapshotName));
            // each table is one COPY, open as long as the sinks take to consume it (back-pressure
            // included): a statement_timeout of the role or the server would cancel it, and the snapshot
            // would start over on every run
            s.execute("SET LOCAL statement_timeout = 0");
        } catch (SQLException e) {
            if (java.util.Set.of("22023", "42704", "55000").contains(e.getSQLState())) {
                // the replication connection that exported the snapshot is gone (the server closed it, or
                // someone ran pg_terminate_backend): PostgreSQL 15 says "invalid snapshot identifier"
                // (22023), 16+ "snapshot does not exist" (42704), and any version "could not import the
                // requested snapshot" (55000) when the exporter left while the file was still there. The
                // snapshot must start over on a new connection: a lost connection (SQLSTATE class 08),
                // which the pipeline retries
                throw new SQLException("the replication connection that exported snapshot " + snapshotName
                        + " was lost before the snapshot was read (" + e.getMessage() + ")", "08006", e);
            }
            throw e;
        }
    }

    /**
     * Takes ACCESS SHARE locks on the tables now, while the snapshot's exporter still holds its own:
     * a table rewrite or drop between the export and the read would otherwise leave the snapshot an
     * empty or missing table. DDL on the tables waits until the copy has been read.
     */
    void lockTables() throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("LOCK TABLE " + tables.stream().map(t -> quoteIdent(t.schema()) + "." + quoteIdent(t.name()))
                    .collect(Collectors.joining(", ")) + " IN ACCESS SHARE MODE");
        }
    }

    /** The next rows, at most {@code max} of them and about {@code maxBytes}; empty once every table is read. */
    List<ChangeEvent> next(int max, long maxBytes) throws SQLException {
        List<ChangeEvent> out = new ArrayList<>();
        long bytes = 0;
        while (out.size() < max && bytes < maxBytes) {
            if (copy == null && !openNextTable()) {
                break;
            }
            byte[] line = copy.readFromCopy();
            if (line == null) { // the copy has ended, and the connection is free for the next table's
                LOG.info("copied {}: {} rows in {} ms", schema.table(), String.format("%,d", tableRows),
                        (System.nanoTime() - tableStartNanos) / 1_000_000);
                copy = null;
                continue;
            }
            row.read(line, asBytes.length);
            encoder.reset(); // a value that failed in an earlier call may have left some behind
            row.putValues(columns, asBytes, encoder);
            bytes += encoder.encodedSize();
            tableRows++;
            out.add(new ChangeEvent(Op.READ, schema, null, encoder.finish(), Set.of(),
                    new PgPosition(lsn, snapshotPositions, firstIndex + rowIndex++), txId, committed));
        }
        return out;
    }

    private boolean openNextTable() throws SQLException {
        if (++tableIndex >= tables.size()) {
            return false;
        }
        TableId table = tables.get(tableIndex);
        // read the columns inside the snapshot, so schema and rows agree
        schema = new Catalog(connection).schema(table);
        // No ::text casts: a cast is not always the output function (char(n) loses its padding,
        // inet gains a /32), and the stream carries the output function's text.
        String columnList = schema.columns().stream().map(c -> quoteIdent(c.name()))
                .collect(Collectors.joining(", "));
        // ONLY: an ordinary table's inheritance children are tables of their own; a partitioned table
        // holds no rows itself, its partitions do
        String select = "SELECT " + columnList + " FROM " + (new Catalog(connection).isPartitioned(table) ? "" : "ONLY ")
                + quoteIdent(table.schema()) + "." + quoteIdent(table.name());
        // COPY gives every value's text, bytea's hex too, so the column's type alone says how it is taken
        // (a result set's getBytes decodes bytea, whatever the schema says: its metadata had the last word)
        columns = schema.columns().toArray(new Column[0]);
        asBytes = TextValues.takesBytes(columns);
        copy = connection.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (" + select + ") TO STDOUT");
        tableRows = 0;
        tableStartNanos = System.nanoTime();
        return true;
    }

    void finish() throws SQLException {
        if (copy != null) {
            // pgjdbc would wait for ever for the connection, which the open COPY holds
            throw new IllegalStateException("the copy of a table is still being read");
        }
        connection.commit();
        connection.close();
    }

    long rows() {
        return rowIndex;
    }

    int tableCount() {
        return tables.size();
    }

    long consistentPoint() {
        return lsn;
    }

    List<TableId> tables() {
        return tables;
    }

    void close() {
        PostgresConnections.close(connection);
    }
}
