package dev.ferry.postgres;

import static dev.ferry.postgres.PostgresConnections.quoteIdent;
import static dev.ferry.postgres.PostgresConnections.quoteLiteral;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.RowEncoder;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.source.FetchSizing;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every row of some tables as they were in an exported snapshot: one REPEATABLE READ
 * transaction that imports it, no lock beyond the ACCESS SHARE every SELECT takes. Rows come through
 * a server-side cursor, so memory stays bounded whatever the table size. Used for the initial
 * snapshot (the slot's exported snapshot; rows sit at the consistent point) and for tables added
 * while streaming (see {@link TableAdditions}; rows sit in the transaction that added them). Chunked,
 * resumable snapshots that do not hold one long transaction are a later step (see the snapshot issue).
 */
final class TableCopy {
    private static final Logger LOG = LoggerFactory.getLogger(TableCopy.class);
    /** The most rows one fetch of the cursor asks for, however narrow the rows. */
    private static final int MAX_FETCH_ROWS = 2000;

    private final Connection connection;
    private final String snapshotName;
    private final List<TableId> tables;

    private long lsn;
    private boolean snapshotPositions;
    private long firstIndex;
    private long txId;
    private Instant committed = Instant.now();

    private int tableIndex = -1;
    private Statement statement;
    private ResultSet rows;
    private TableSchema schema;
    /** Per column of {@code schema}: whether its values are taken as bytes (see {@link TextValues#takesBytes}). */
    private boolean[] asBytes;
    private final RowEncoder encoder = new RowEncoder();
    private long rowIndex;
    private long tableRows;
    private long tableStartNanos;
    private FetchSizing fetchSizing;

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
            if (rows == null && !openNextTable()) {
                break;
            }
            if (!rows.next()) {
                LOG.info("copied {}: {} rows in {} ms", schema.table(), String.format("%,d", tableRows),
                        (System.nanoTime() - tableStartNanos) / 1_000_000);
                rows.close();
                statement.close();
                rows = null;
                continue;
            }
            encoder.reset(); // a value that failed in an earlier call may have left some behind
            for (int i = 0; i < asBytes.length; i++) {
                if (asBytes[i]) {
                    TextValues.put(schema.column(i), rows.getBytes(i + 1), encoder);
                } else {
                    encoder.put(TextValues.convert(schema.column(i), rows.getString(i + 1)));
                }
            }
            int size = encoder.encodedSize();
            bytes += size;
            fetchSizing.row(size);
            rows.setFetchSize(fetchSizing.next()); // for the cursor's next fetch: about 4 MB of rows this wide
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
        String columns = schema.columns().stream().map(c -> quoteIdent(c.name()))
                .collect(Collectors.joining(", "));
        statement = connection.createStatement();
        fetchSizing = new FetchSizing(MAX_FETCH_ROWS);
        statement.setFetchSize(fetchSizing.first());
        // ONLY: an ordinary table's inheritance children are tables of their own; a partitioned table
        // holds no rows itself, its partitions do
        rows = statement.executeQuery("SELECT " + (columns.isEmpty() ? "" : columns) + " FROM "
                + (new Catalog(connection).isPartitioned(table) ? "" : "ONLY ") + quoteIdent(table.schema()) + "." + quoteIdent(table.name()));
        asBytes = TextValues.takesBytes(schema, rows.getMetaData());
        tableRows = 0;
        tableStartNanos = System.nanoTime();
        return true;
    }

    void finish() throws SQLException {
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
