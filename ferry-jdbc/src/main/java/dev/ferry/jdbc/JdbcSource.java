package dev.ferry.jdbc;

import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.source.Check;
import dev.ferry.source.Position;
import dev.ferry.source.Source;
import dev.ferry.source.SourceBatch;
import dev.ferry.source.SourceInfo;
import dev.ferry.source.Window;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Batch extraction by query from any JDBC database: each run reads every configured table, whole
 * ({@code full}) or past its cursor's mark ({@code incremental}), in keyset-paginated chunks.
 *
 * <p>Design notes.
 * <ul>
 *   <li>A run is a sequence of {@link TableRead}s on one connection, each chunk its own short
 *       read-only transaction. Positions number runs and the events in them; the position that ends
 *       each poll carries every table's mark, so the Log's last position is all a restart needs.</li>
 *   <li>A table's mark moves only when its read is complete, after its recorded look-back rows
 *       ({@link DeliveredRows}) are durable; a run cut off (crash, lost connection) is followed by a
 *       new run from the marks the Log holds: a full table is copied again whole, an incremental table
 *       re-reads from its mark, and rows delivered twice that way carry the same key and content
 *       (at-least-once at the cut, exactly-once for sinks that apply by key).</li>
 *   <li>Without {@code --once} the source runs again {@code interval_seconds} after a run ends.
 *       A {@link Window} run reads only cursors inside the window and moves no mark.</li>
 * </ul>
 */
public final class JdbcSource implements Source {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcSource.class);
    /** The most events one poll returns. */
    static final int MAX_BATCH = 4096;
    /** About the most bytes of rows one poll returns (the read that reaches it is the last): wide rows make short batches. */
    static final long MAX_BATCH_BYTES = 16L * 1024 * 1024;
    private static final DateTimeFormatter SQL_TIMESTAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    private final String pipelineName;
    private final JdbcSettings settings;
    private final Connections connections;
    /** The connections beside {@link #connection} that read a full table's key ranges ({@code readers:}). */
    private final Readers readers;
    private final Clock clock;

    private Path work;
    private Window window;
    private Connection connection;
    private Dialect dialect;
    private List<TableShape> shapes;

    private SortedMap<String, JdbcPosition.TableMark> marks = new TreeMap<>();
    private JdbcPosition reached = JdbcPosition.initial();
    private long run;
    private long nextIndex;
    private boolean runActive;
    private Instant runStartedAt;
    private int tableIndex;
    private TableRead read;
    /** The table's key comparison, after its read ({@code deletes: key_compare}), or null. */
    private KeyCompare compare;
    /** The read whose table's key comparison runs. */
    private TableRead compared;
    private long readStartedNanos;
    private long runRows;
    private long completedRuns;
    private Instant nextRunAt;
    /** When the rate cap next lets a chunk start (System.nanoTime()). */
    private long paceNanos;
    private volatile boolean stopping;
    /** {@link #end} was asked for: a batch run ({@code --once}) makes one run and never begins another. */
    private volatile boolean batch;

    JdbcSource(String pipelineName, JdbcSettings settings, Clock clock) {
        this.pipelineName = pipelineName;
        this.settings = settings;
        this.connections = new Connections(settings);
        this.readers = new Readers(connections);
        this.clock = clock;
    }

    /** One helper thread per reader beyond the capture thread's connection, which plans the key ranges. */
    @Override
    public int helperThreads() {
        return settings.readers() > 1 ? settings.readers() : 0;
    }

    @Override
    public void helpers(ExecutorService helpers) {
        readers.helpers(helpers);
    }

    @Override
    public SourceInfo info() {
        String db = settings.address();
        int slash = db.lastIndexOf('/');
        int colon = db.lastIndexOf(':');
        return new SourceInfo("jdbc", pipelineName, db.substring(Math.max(slash, colon) + 1));
    }

    @Override
    public void workFolder(Path folder) {
        this.work = folder;
    }

    @Override
    public void window(Window window) {
        this.window = window;
    }

    @Override
    public List<Check> check() throws FerryException {
        List<Check> out = new ArrayList<>();
        try {
            ensureConnected();
            out.add(Check.ok("connection", dialect.product() + " at " + settings.address()));
            for (TableSpec spec : settings.tables()) {
                try {
                    TableShape s = TableShape.describe(connection, dialect, spec);
                    out.add(Check.ok("table " + s.table(), (spec.incremental() ? "incremental on " + spec.cursor() : "full")
                            + (s.keyed() ? ", chunks by key" : ", no key: read in one streamed query")));
                } catch (FerryException e) {
                    out.add(Check.problem("table " + spec.name(), e.getMessage(), "Fix the table's entry in source.tables."));
                }
            }
        } catch (SQLException e) {
            throw connections.classify(e);
        }
        return out;
    }

    @Override
    public Map<String, String> status() throws FerryException {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("database", settings.address());
        return out;
    }

    /** The end of a batch run: the first run this start makes, complete. See {@link #caughtUp}. */
    @Override
    public Position end() {
        batch = true;
        return new JdbcPosition(Long.MAX_VALUE, JdbcPosition.DONE, null, new TreeMap<>());
    }

    @Override
    public void start(Optional<Position> resumeAfter, boolean startingOver) throws FerryException {
        closeRead();
        readers.closeAll();
        Connections.close(connection);
        connection = null;
        try {
            ensureConnected();
            List<TableShape> described = new ArrayList<>();
            for (TableSpec spec : settings.tables()) {
                described.add(TableShape.describe(connection, dialect, spec));
            }
            shapes = List.copyOf(described);
        } catch (SQLException e) {
            throw connections.classify(e);
        }
        if (work == null) {
            try {
                work = Files.createTempDirectory("ferry-jdbc-");
            } catch (IOException e) {
                throw FerryException.internal("Cannot create a temporary folder: " + e.getMessage(), e);
            }
        }
        reached = resumeAfter.map(p -> (JdbcPosition) p).orElse(JdbcPosition.initial());
        marks = new TreeMap<>(reached.marks());
        run = reached.run();
        runActive = false;
        nextRunAt = clock.instant();
        if (resumeAfter.isPresent()) {
            LOG.info("Resuming after {} ({} tables with a mark)", reached.display(), marks.size());
        }
    }

    @Override
    public SourceBatch poll(Duration maxWait) throws FerryException, InterruptedException {
        List<ChangeEvent> out = new ArrayList<>();
        try {
            if (!runActive) {
                boolean due = !clock.instant().isBefore(nextRunAt)
                        && !((window != null || batch) && completedRuns > 0);
                if (!due) {
                    pause(maxWait);
                    return new SourceBatch(out, reached);
                }
                beginRun();
            }
            long[] next = {nextIndex};
            long bytes = 0;
            while (out.size() < MAX_BATCH && bytes < MAX_BATCH_BYTES && runActive && !stopping) {
                long wait = paceNanos - System.nanoTime();
                if (settings.maxRowsPerSecond() > 0 && wait > 0) {
                    if (out.isEmpty()) {
                        Thread.sleep(Math.min(maxWait.toMillis(), wait / 1_000_000 + 1));
                    }
                    break;
                }
                long chunkStart = System.nanoTime();
                if (compare != null) {
                    pace(compare.next(out, next), chunkStart);
                    if (compare.done()) {
                        finishTable(shapes.get(tableIndex));
                    }
                    continue;
                }
                if (read == null) {
                    if (tableIndex >= shapes.size()) {
                        finishRun();
                        break;
                    }
                    read = openRead(shapes.get(tableIndex));
                    readStartedNanos = System.nanoTime();
                }
                int before = out.size();
                int rows = read.next(MAX_BATCH - out.size(), out, next);
                for (int i = before; i < out.size(); i++) {
                    ChangeEvent e = out.get(i);
                    bytes += TableRead.width(e.after() != null ? e.after() : e.before());
                }
                pace(rows, chunkStart);
                if (read.done()) {
                    TableShape shape = shapes.get(tableIndex);
                    if (shape.spec().keyCompare() && window == null) {
                        compared = read;
                        read = null;
                        compare = openCompare(shape);
                    } else {
                        finishTable(shape);
                    }
                }
            }
            nextIndex = next[0];
            if (runActive) {
                reached = new JdbcPosition(run, nextIndex - 1, windowName(), marks);
            }
            return new SourceBatch(out, reached);
        } catch (SQLException e) {
            throw connections.classify(e);
        } catch (IOException e) {
            throw FerryException.internal("Cannot write the delivered rows of the look-back in " + work + ": "
                    + e.getMessage(), e);
        }
    }

    private void beginRun() {
        run++;
        nextIndex = 0;
        tableIndex = 0;
        runRows = 0;
        runActive = true;
        runStartedAt = clock.instant();
        LOG.info("Run {} begins{}: {} tables", run, window == null ? "" : " for window " + window.name(), shapes.size());
    }

    private void finishRun() {
        runActive = false;
        completedRuns++;
        reached = new JdbcPosition(run, JdbcPosition.DONE, windowName(), marks);
        nextRunAt = clock.instant().plus(settings.interval());
        LOG.info("Run {} complete: {} rows in {} s", run, String.format("%,d", runRows),
                Duration.between(runStartedAt, clock.instant()).toMillis() / 1000.0);
    }

    private TableRead openRead(TableShape shape) throws FerryException, IOException {
        Instant committedAt = window != null ? window.end() : runStartedAt;
        String windowName = windowName();
        long thisRun = run;
        TableRead.Bounds bounds = TableRead.Bounds.NONE;
        if (shape.xmin()) {
            JdbcPosition.TableMark mark = marks.get(key(shape));
            Long from = window != null || mark == null || mark.cursor().isEmpty() ? null
                    : (Long) CursorValues.decode(mark.cursor());
            bounds = new TableRead.Bounds(null, false, null, true, null, null, null, window != null, from);
        } else if (shape.cursor() >= 0 && window != null) {
            bounds = new TableRead.Bounds(windowBound(shape, window.from(), window), true,
                    windowBound(shape, window.to(), window), false, null, null, null, true, null);
        } else if (shape.cursor() >= 0) {
            TableSpec.Lookback back = shape.spec().lookback();
            JdbcPosition.TableMark mark = marks.get(key(shape));
            Object lower = null;
            DeliveredRows.Reader delivered = null;
            Path folder = TableRead.folder(work, shape);
            if (mark != null && !mark.cursor().isEmpty()) {
                Object prev = CursorValues.decode(mark.cursor());
                boolean localMark = prev instanceof LocalDateTime && shape.cursorKind() == CursorValues.UTC_TIMESTAMP;
                if (localMark) {
                    prev = fromLocalMark(shape, (LocalDateTime) prev);
                }
                lower = shape.cursorKind().minus(prev, back);
                if (lower == null) {
                    throw FerryException.config(shape.spec().where() + ": the cursor " + shape.spec().cursor() + " of "
                            + shape.table() + " holds \"" + prev + "\", which a duration cannot move back; use a "
                            + "timestamp cursor for a duration look-back.");
                }
                if (!back.none() && !localMark) {
                    delivered = new DeliveredRows.Reader(folder, mark.run(), shape.cursorKind());
                }
            }
            DeliveredRows.Writer record = back.none() ? null : new DeliveredRows.Writer(folder, thisRun);
            bounds = new TableRead.Bounds(lower, !back.none(), null, true, back, delivered, record, false, null);
        }
        return new TableRead(connection, dialect, shape, settings, committedAt, bounds,
                index -> new JdbcPosition(thisRun, index, windowName, Collections.emptySortedMap()), readers);
    }

    /**
     * The mark of a MySQL/MariaDB {@code TIMESTAMP} cursor kept by an earlier version, which read it in
     * the session's local time: whatever that zone was, the instant is at most 14 hours before the
     * local value read as UTC (no zone is further east), so the next read starts there. Rows of those
     * hours are sent again, once; none is lost.
     */
    private static Object fromLocalMark(TableShape shape, LocalDateTime local) {
        LOG.warn("{}: the mark {} of the TIMESTAMP cursor {} is a local time kept by an earlier version of Ferry; "
                + "TIMESTAMP cursors are now read in UTC. This run reads from 14 hours before it, so rows of those "
                + "hours are sent again once.", shape.table(), local, shape.spec().cursor());
        return local.minusHours(14).atOffset(ZoneOffset.UTC);
    }

    /** A window bound as a value of the cursor column's type. */
    private static Object windowBound(TableShape shape, LocalDateTime t, Window w) throws FerryException {
        return switch (shape.cursorKind()) {
            case TIMESTAMP -> t;
            case TIMESTAMPTZ, UTC_TIMESTAMP -> t.atZone(w.zone()).toOffsetDateTime().withOffsetSameInstant(ZoneOffset.UTC);
            case DATE -> t.toLocalDate();
            case TEXT -> SQL_TIMESTAMP.format(t);
            default -> throw FerryException.config(shape.spec().where() + ": a window selects rows by a timestamp cursor; "
                    + "the cursor " + shape.spec().cursor() + " of " + shape.table() + " is a number. Run this table "
                    + "without --window, or give it an updated-at cursor.");
        };
    }

    private KeyCompare openCompare(TableShape shape) throws IOException, FerryException {
        JdbcPosition.TableMark mark = marks.get(key(shape));
        long thisRun = run;
        String windowName = windowName();
        return new KeyCompare(connection, dialect, shape, settings, TableRead.folder(work, shape),
                mark == null ? 0 : mark.run(), run, runStartedAt,
                index -> new JdbcPosition(thisRun, index, windowName, Collections.emptySortedMap()));
    }

    /** The table's read (and key comparison) are complete: its files are made durable, then its mark moves. */
    private void finishTable(TableShape shape) throws IOException {
        TableRead r = compare != null ? compared : read;
        KeyCompare k = compare;
        read = null;
        compared = null;
        compare = null;
        tableIndex++;
        runRows += r.rows();
        if (shape.cursor() < 0 && !shape.xmin()) {
            if (window == null) {
                marks.put(key(shape), new JdbcPosition.TableMark(run, ""));
            }
        } else if (window == null) {
            r.commitRecord();
            if (k != null) {
                k.commit();
            } else {
                // deletes: key_compare is off: turned on again later, it starts afresh
                Files.deleteIfExists(TableRead.folder(work, shape).resolve(KeyCompare.KEPT));
            }
            JdbcPosition.TableMark old = marks.get(key(shape));
            // a table that never had a row keeps the mark it had; its key file is this run's
            Object mark = r.mark();
            String cursor = mark != null ? CursorValues.encodeAny(mark) : old == null ? "" : old.cursor();
            if (mark != null || k != null) {
                marks.put(key(shape), new JdbcPosition.TableMark(run, cursor));
            }
        }
        r.close();
        if (k != null) {
            k.close();
        }
        LOG.info("{}: {} rows{}{} in {} s", shape.table(), String.format("%,d", r.rows()),
                r.skipped() > 0 ? " (" + String.format("%,d", r.skipped()) + " read again in the look-back and skipped)" : "",
                k == null ? "" : "; key comparison: " + String.format("%,d", k.keys()) + " keys, "
                        + String.format("%,d", k.keysRead()) + " read, " + String.format("%,d", k.deletes()) + " deletes",
                (System.nanoTime() - readStartedNanos) / 1_000_000 / 1000.0);
    }

    private String windowName() {
        return window == null ? null : window.name();
    }

    private static String key(TableShape shape) {
        return shape.table().toString();
    }

    /**
     * Holds the next chunk back so that rows per second stay under the cap: a chunk of n rows that began
     * at {@code chunkStart} lets the next begin n / cap seconds after it (its own reading time counts).
     */
    private void pace(int rows, long chunkStart) {
        if (settings.maxRowsPerSecond() > 0 && rows > 0) {
            paceNanos = Math.max(paceNanos, chunkStart) + rows * 1_000_000_000L / settings.maxRowsPerSecond();
        }
    }

    private void pause(Duration maxWait) throws InterruptedException {
        long until = System.nanoTime() + Math.min(maxWait.toNanos(),
                Math.max(0, Duration.between(clock.instant(), nextRunAt).toNanos()));
        while (!stopping && System.nanoTime() < until) {
            Thread.sleep(Math.max(1, Math.min(100, (until - System.nanoTime()) / 1_000_000)));
        }
    }

    /** True once a run of this start is complete: a batch run ({@code --once}) makes one run. */
    @Override
    public boolean caughtUp(Position end) {
        return completedRuns > 0 && !runActive;
    }

    /** Removes the recorded look-back rows and kept keys of runs older than the ones the durable position names. */
    @Override
    public void acknowledge(Position durable) {
        if (work == null) {
            return;
        }
        JdbcPosition p = (JdbcPosition) durable;
        for (TableShape shape : shapes == null ? List.<TableShape>of() : shapes) {
            JdbcPosition.TableMark mark = p.marks().get(key(shape));
            Path folder = TableRead.folder(work, shape);
            if (mark == null || !Files.isDirectory(folder)) {
                continue;
            }
            try (Stream<Path> files = Files.list(folder)) {
                for (Path f : files.toList()) {
                    String name = f.getFileName().toString();
                    boolean kept = name.endsWith(".rows") || name.endsWith(".keys");
                    if (kept && Long.parseLong(name.substring(0, name.length() - 5)) < mark.run()) {
                        Files.deleteIfExists(f);
                    } else if (name.endsWith(".tmp") && !name.startsWith(run + ".")) {
                        Files.deleteIfExists(f); // left by a run cut short (a crash)
                    }
                }
            } catch (IOException | NumberFormatException e) {
                LOG.debug("cleaning {}", folder, e);
            }
        }
    }

    @Override
    public void stop() {
        stopping = true;
    }

    @Override
    public void close() {
        closeRead();
        readers.closeAll();
        Connections.close(connection);
        connection = null;
    }

    private void closeRead() {
        if (read != null) {
            read.close();
            read = null;
        }
        if (compare != null) {
            compare.close();
            compared.close();
            compare = null;
            compared = null;
        }
        runActive = false;
    }

    private void ensureConnected() throws FerryException, SQLException {
        if (connection == null) {
            connection = connections.open();
            dialect = Dialect.of(connection);
            connection.rollback();
        }
    }
}
