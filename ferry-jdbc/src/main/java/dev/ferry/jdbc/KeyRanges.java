package dev.ferry.jdbc;

import dev.ferry.error.FerryException;
import dev.ferry.event.Row;
import dev.ferry.source.FetchSizing;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;

/**
 * A full table read in key ranges on several connections at once ({@code readers:} above 1).
 *
 * <p>Design notes.
 * <ul>
 *   <li>The capture thread plans the ranges on the source's own connection: the end of the next one is
 *       the key n rows past the end of the last ({@code ORDER BY key LIMIT 1 OFFSET n - 1}, a walk of
 *       the key index alone), each planning query its own short transaction. n is sized by the width
 *       of the rows delivered so far ({@link FetchSizing}: 16 rows first, then about 4 MB of rows, at
 *       most {@code chunk_rows}). A range, {@code start < key <= end}, goes to a {@link Readers}
 *       connection, read in one short read-only transaction. Until the first rows are delivered only one
 *       range is planned; then at most twice as many ranges as readers, their rows held in memory until
 *       delivered: memory is bounded by about 4 MB a range, not by the table or by {@code chunk_rows}
 *       rows of any width.</li>
 *   <li>Ranges are delivered in the order they were planned, key order, whatever order they finish in:
 *       the Log gets the rows in the order one connection reads them, so events, their positions (the
 *       run's indexes) and a window's output are the same as with one reader. A failed range fails
 *       the run (the table is copied again by the next one, as after any cut).</li>
 *   <li>The last range has no end: it is read with a limit, and when it comes back full the table grew
 *       while it was read, and planning goes on past its last key, as the one-connection read goes on
 *       while chunks come back full.</li>
 * </ul>
 */
final class KeyRanges {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(KeyRanges.class);
    /** One range's rows; for the last range (read with a limit), its last key and whether it came back full. */
    private record Chunk(List<Row> rows, List<Object> lastKey, boolean full) {
    }

    private final Connection planner;
    private final Dialect dialect;
    private final TableShape shape;
    private final Readers readers;
    private final int chunkRows;
    private final int fetchSize;
    private final int timeoutSeconds;
    private final int ahead;
    /** Sizes the ranges by the width of the rows delivered; used on the capture thread only. */
    private final FetchSizing sizing;
    private boolean widthKnown;
    private final ArrayDeque<CompletableFuture<Chunk>> inFlight = new ArrayDeque<>();
    /** The end of the last range planned; null before the first. */
    private List<Object> planned;
    private boolean allPlanned;
    private List<Row> current = List.of();
    private int at;
    private boolean done;

    KeyRanges(Connection planner, Dialect dialect, TableShape shape, JdbcSettings settings, Readers readers,
              FetchSizing sizing) {
        this.sizing = sizing;
        this.planner = planner;
        this.dialect = dialect;
        this.shape = shape;
        this.readers = readers;
        this.chunkRows = settings.chunkRows();
        this.fetchSize = Math.min(settings.fetchSize(), settings.chunkRows());
        this.timeoutSeconds = (int) settings.statementTimeout().toSeconds();
        this.ahead = 2 * settings.readers();
    }

    boolean done() {
        return done;
    }

    /**
     * Hands up to {@code max} rows to {@code out}, in key order; waits for the next range when the rows
     * read so far are all handed out. Returns how many it handed out (0 for an empty range).
     */
    int next(int max, Consumer<Row> out) throws SQLException, FerryException, InterruptedException {
        plan();
        if (at == current.size()) {
            CompletableFuture<Chunk> head = inFlight.poll();
            if (head == null) {
                done = true;
                return 0;
            }
            Chunk chunk = await(head);
            if (chunk.full()) {
                planned = chunk.lastKey(); // the table grew past the last range: go on after it
                allPlanned = false;
                LOG.debug("{}: the last key range came back full; planning goes on after {}", shape.table(), planned);
            }
            current = chunk.rows();
            at = 0;
            plan();
        }
        int n = Math.min(max, current.size() - at);
        for (int i = 0; i < n; i++) {
            out.accept(current.get(at++)); // the consumer records the row's width in sizing
            widthKnown = true;
        }
        if (at == current.size()) {
            current = List.of();
            at = 0;
            done = allPlanned && inFlight.isEmpty();
        }
        return n;
    }

    private void plan() throws SQLException {
        // before any width is known, one range of 16 rows: 2 x readers ranges of unknown width could be wide
        while (!allPlanned && inFlight.size() < (widthKnown ? ahead : 1)) {
            int rows = Math.max(1, Math.min(chunkRows, sizing.next()));
            List<Object> start = planned;
            List<Object> end = boundary(start, rows);
            allPlanned = end == null;
            planned = end;
            inFlight.add(readers.submit(c -> read(c, start, end, rows)));
        }
    }

    /** The key {@code rows} rows past {@code start}, or null when fewer rows are left. */
    private List<Object> boundary(List<Object> start, int rows) throws SQLException {
        KeyPredicate where = new KeyPredicate();
        StringBuilder sql = new StringBuilder("SELECT ").append(String.join(", ", shape.keyColumns(dialect)))
                .append(" FROM ").append(dialect.from(shape.table()));
        if (start != null) {
            sql.append(" WHERE ").append(where.compare(shape.keyColumns(dialect), ">", start, shape.keyKinds()));
        }
        sql.append(" ORDER BY ").append(String.join(", ", shape.keyColumns(dialect)))
                .append(dialect.limit(1, rows - 1));
        try (PreparedStatement ps = planner.prepareStatement(sql.toString())) {
            ps.setQueryTimeout(timeoutSeconds);
            where.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? key(rs, 1) : null;
            }
        } finally {
            planner.commit();
        }
    }

    /** Reads the range {@code start < key <= end} (null: unbounded, at most {@code limit} rows) on a reader's connection. */
    private Chunk read(Connection c, List<Object> start, List<Object> end, int limit) throws SQLException {
        KeyPredicate where = new KeyPredicate();
        List<String> key = shape.keyColumns(dialect);
        List<String> conditions = new ArrayList<>();
        if (start != null) {
            conditions.add(where.compare(key, ">", start, shape.keyKinds()));
        }
        if (end != null) {
            conditions.add(where.compare(key, "<=", end, shape.keyKinds()));
        }
        StringBuilder sql = new StringBuilder("SELECT ").append(shape.selectList(dialect)).append(" FROM ")
                .append(dialect.from(shape.table()));
        if (!conditions.isEmpty()) {
            sql.append(" WHERE ").append(String.join(" AND ", conditions));
        }
        sql.append(" ORDER BY ").append(String.join(", ", key));
        if (end == null) {
            sql.append(dialect.limit(limit));
        }
        List<Row> rows = new ArrayList<>(end == null ? 16 : limit);
        List<Object> last = null;
        try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
            ps.setFetchSize(Math.min(fetchSize, limit));
            ps.setQueryTimeout(timeoutSeconds);
            if (end == null) {
                ps.setMaxRows(limit);
            }
            where.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                RowReader reader = new RowReader(shape, dialect);
                while (rs.next()) {
                    rows.add(reader.read(rs));
                    if (end == null && rows.size() == limit) {
                        last = lastKey(rs);
                    }
                }
            }
        } finally {
            c.commit(); // one range, one short transaction
        }
        return new Chunk(rows, last, last != null);
    }

    private List<Object> lastKey(ResultSet rs) throws SQLException {
        int[] indexes = shape.keyIndexes();
        List<Object> key = new ArrayList<>(indexes.length);
        for (int i = 0; i < indexes.length; i++) {
            key.add(shape.keyKinds().get(i).read(rs, indexes[i] + 1));
        }
        return key;
    }

    /** The key columns' values from result column {@code first} on. */
    private List<Object> key(ResultSet rs, int first) throws SQLException {
        List<Object> key = new ArrayList<>(shape.keyKinds().size());
        for (int i = 0; i < shape.keyKinds().size(); i++) {
            key.add(shape.keyKinds().get(i).read(rs, first + i));
        }
        return key;
    }

    private static Chunk await(CompletableFuture<Chunk> f) throws SQLException, FerryException, InterruptedException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof SQLException s) {
                throw s;
            }
            if (cause instanceof FerryException fe) {
                throw fe;
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw (Error) cause;
        }
    }
}
