package dev.ferry.postgres;

import static dev.ferry.postgres.PostgresConnections.quoteIdent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.RowEncoder;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.log.CrashPoints;
import dev.ferry.log.DurableFiles;
import dev.ferry.log.DurableRecord;
import dev.ferry.source.SnapshotProgress;
import dev.ferry.source.StoppedSnapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots that hold no long transaction: a table is read in chunks by key (key ranges in the key
 * index's order), each chunk one short statement between two watermarks written through the WAL,
 * in the spirit of Netflix's DBLog:
 * <ol>
 *   <li>a low watermark, {@code pg_logical_emit_message(true, 'ferry:<slot>', 'snapshot-low <id>')};</li>
 *   <li>the chunk: {@code COPY (SELECT ... WHERE key > start AND key <= end ORDER BY key LIMIT n) TO STDOUT},
 *   kept in memory;</li>
 *   <li>a high watermark, {@code 'snapshot-high <id>'}.</li>
 * </ol>
 * The stream goes on all along. Between the two watermarks, a streamed change of a key in the chunk
 * removes that key from it: the change is as new as the row read, or newer. At the high watermark,
 * the rows left are emitted as reads, placed in the watermark's transaction: every change before
 * the low watermark is older than them, every change after the high one newer, and changes in
 * between were removed. Streaming never waits for a snapshot, and a snapshot never holds back vacuum.
 *
 * <p>Readers ({@link ChunkReaders}: the pipeline's helper threads, each chunk on a connection of its
 * own) plan the ranges (the key {@code n} rows on, an index-only walk) and read them, so several
 * chunks are read at once, and no statement runs on the capture thread. Each chunk's watermarks enclose
 * its own read; chunks of one table may overlap in time, being disjoint in keys. Up to
 * {@code chunksInFlight} chunks are read ahead of the stream; memory holds at most that many.
 *
 * <p>Progress is recorded per table in the {@link DurableRecord} {@code progress.json} of the snapshot
 * folder (two slots written in turn, no file made per write): the end of the
 * last range such that it and every range before it are durable in the Log, written before that
 * position is confirmed to the server. A restart goes on from there, reading again at most the
 * chunks that were in flight. Requests ({@code ferry snapshot}) arrive as files in the same folder,
 * written by the operator's command.
 */
final class ChunkedSnapshots implements AutoCloseable, ChangeStream.Idle {
    private static final Logger LOG = LoggerFactory.getLogger(ChunkedSnapshots.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String LOW = "snapshot-low";
    private static final String HIGH = "snapshot-high";
    private static final long REQUEST_SCAN_MILLIS = 1000;

    /** Keys from {@code start} (exclusive; null: the first) to {@code end} (inclusive; null: the last), texts. */
    private record Range(long seq, List<String> start, List<String> end, boolean last) {
    }

    /**
     * One table to read, and how far it got. The readers plan its ranges ({@code planned},
     * {@code allPlanned}, {@code nextSeq}, one reader at a time under {@code planning}); the capture
     * thread puts ranges back into {@code pending} and records what is durable. Both under the job's
     * monitor.
     */
    static final class Job {
        final String id;
        final TableId table;
        final String where;
        final Object planning = new Object();
        /** The end of the ranges durable in the Log without a gap (texts), or null before the first. */
        List<String> lastKey;
        /** Where the next range to plan starts. */
        List<String> planned;
        /**
         * The table's last key when this run took the job up (null: it was empty), the end of its
         * last range: rows added beyond it come with the stream, and a table that grows faster than
         * it is read still ends. Under {@code planning}.
         */
        List<String> endKey;
        boolean endKnown;
        /** Whether the last range (to the table's end) has been planned. */
        boolean allPlanned;
        long nextSeq;
        /** Reader tasks handed out that have not taken their range yet. */
        int waiting;
        /** Ranges to read again or to finish (a chunk cut short), before new ones. */
        final ArrayDeque<Range> pending = new ArrayDeque<>();
        /** Durable ranges beyond the first gap, by sequence: their ends (an empty list for the last range). */
        final java.util.TreeMap<Long, List<String>> done = new java.util.TreeMap<>();
        long doneSeq = -1;
        long chunks;
        long rows;
        /** Why the job stopped for good (a bad condition, no key any more), or null. Kept, shown, not retried. */
        volatile String failed;
        /** The SQLSTATE of the error that stopped it, or null when Ferry stopped it (no key any more). */
        volatile String failedState;
        /** When it was asked for (a cancel removes only what was asked for before it); the epoch if unknown. */
        Instant requestedAt = Instant.EPOCH;
        /** The table's estimated rows (pg_class.reltuples) when this run took the job up; -1 unknown. */
        volatile long estimate = -1;
        /** When this run took the job up, and its rows then: the rate and ETA are this run's. */
        long startMillis;
        long startRows;
        /**
         * The most rows the next chunk asks for: about half of {@link #CHUNK_BYTES} of rows as wide as
         * the last chunk's on average, at most chunk_rows (see {@link #copyRows}). Read by several readers.
         */
        volatile int chunkLimit = Integer.MAX_VALUE;

        /** The rows the next chunk asks for (its LIMIT), with chunks of {@code chunkRows} configured. */
        int chunkRows(int chunkRows) {
            return Math.min(chunkRows, chunkLimit);
        }

        Job(String id, TableId table, String where, List<String> lastKey, long chunks, long rows) {
            this.id = id;
            this.table = table;
            this.where = where;
            this.lastKey = lastKey;
            this.planned = lastKey;
            this.chunks = chunks;
            this.rows = rows;
        }

        /**
         * Whether a range can be handed out: one to read again, or a new one while fewer than
         * {@code ahead} ranges lie beyond the durable ones (a restart reads at most those again).
         */
        synchronized boolean hasWork(int ahead) {
            long plannable = allPlanned ? 0 : Math.max(0, ahead - (nextSeq - doneSeq - 1));
            return failed == null && pending.size() + plannable > waiting;
        }

        /** A reader's task for this job was handed out: it counts against the work until it starts. */
        synchronized void handedOut() {
            waiting++;
        }

        /** The task started (or failed before it could). */
        synchronized void started() {
            waiting--;
        }

        synchronized void putBack(Range range) {
            pending.addFirst(range);
        }
    }

    /**
     * A chunk between its watermarks. The reader fills {@code rows}, {@code lastKey} and
     * {@code cut} and then sets {@code ready} before writing the high watermark; the capture thread
     * owns the rest, and reads the reader's fields only once the high watermark arrived.
     */
    private static final class Window {
        final String id = UUID.randomUUID().toString();
        final Job job;
        final Range range;
        final TableSchema schema;
        final List<String> keyNames;
        final List<Row> rows = new ArrayList<>();
        List<String> lastKey;
        /** Whether rows of the range may be left beyond {@code lastKey}. */
        boolean cut;
        /** The transactions the chunk's read could not see: in progress, or at and beyond its xmax. */
        Invisible invisible = Invisible.NONE;
        volatile boolean ready;
        boolean lowSeen;
        /** The count of commits the stream had delivered when the low watermark arrived. */
        long commitsAtLow;
        /** Keys streamed between the watermarks: the chunk's rows of these keys give way. */
        final java.util.Set<List<Object>> changed = new java.util.HashSet<>();
        boolean truncated;
        /** A change whose key could not be told (its table changed shape): the chunk is read again. */
        boolean spoiled;

        Window(Job job, Range range, TableSchema schema, List<String> keyNames) {
            this.job = job;
            this.range = range;
            this.schema = schema;
            this.keyNames = keyNames;
        }
    }

    /**
     * A chunk emitted at its high watermark; its progress is recorded once {@code through} is
     * durable. {@code end} is set when it finished its range: the range's end, empty for the last;
     * else {@code reached} is where it stopped, the range going on from there.
     */
    private record Emitted(Job job, PgPosition through, long seq, List<String> end, List<String> reached, long rows) {
    }

    /**
     * A reader's task that ended without a chunk waiting for its high watermark, for the capture
     * thread to handle: {@code range} (when one was taken) is read again, {@code error} (when
     * there is one) says why.
     */
    private record Outcome(Job job, Range range, Throwable error, String stop, boolean dropped) {
    }

    private final Path folder;
    /** The progress record ({@code progress.json.a} and {@code .b}, written in turn). */
    private final DurableRecord progress;
    private final String prefix;
    private final int chunkRows;
    private final SnapshotThrottle throttle;
    private final int chunksInFlight;
    private final ChunkReaders readers;
    private final List<Job> jobs = new ArrayList<>();
    private final ArrayDeque<Emitted> emitted = new ArrayDeque<>();
    /** Chunks being read or waiting for their high watermark, by id; a reader adds one before its low watermark. */
    private final Map<String, Window> windows = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentLinkedQueue<Outcome> outcomes = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** Whether the probe runs, and when chunks were last waiting to be read (it stops 10 s after). */
    private volatile boolean probing;
    private volatile long lastWorkNanos;
    private volatile long probeRetryNanos = System.nanoTime();
    /** Chunks submitted and not yet resolved (emitted, read again, or failed): capture thread only. */
    private int inFlight;
    private long nextReportMillis;
    /** When a chunk that waited too long may be tried again; null when none has. */
    private Long retryAfterNanos;
    /** The xids of the transactions the stream committed lately, with the count of commits then. */
    private final LinkedHashMap<Long, Long> recentCommits = new LinkedHashMap<>();
    private long commits;
    /** The xids of the latest commits, by their count modulo the length. */
    private final long[] lastCommits = new long[65_536];
    /** How many commits before a low watermark may hold one beyond the chunk's xmax (only concurrent ones can). */
    private static final int XMAX_LOOKBACK = 1024;
    private static final int RECENT_COMMITS = 65_536;
    private static final long CHUNK_BYTES = 8L * 1024 * 1024;
    private long nextRequestScanMillis;

    /**
     * Reads the progress left in {@code folder} by an earlier run; chunks are read on
     * {@code readers} threads with connections from {@code opener}.
     */
    ChunkedSnapshots(Path folder, String prefix, int chunkRows, SnapshotThrottle throttle, int chunksInFlight,
                     ChunkReaders.Opener opener, ChunkReaders.Opener replicaOpener) {
        this.folder = folder;
        this.prefix = prefix;
        this.chunkRows = chunkRows;
        this.throttle = throttle;
        this.chunksInFlight = chunksInFlight;
        this.readers = new ChunkReaders(opener, replicaOpener);
        try {
            progress = DurableRecord.open(folder, "progress.json");
            Optional<byte[]> recorded = progress.read();
            if (recorded.isPresent()) {
                for (JsonNode j : MAPPER.readTree(recorded.get()).path("jobs")) {
                    List<String> last = j.hasNonNull("last_key") ? texts(j.get("last_key")) : null;
                    Job job = new Job(j.get("id").asText(), new TableId(j.get("schema").asText(), j.get("table").asText()),
                            j.hasNonNull("where") ? j.get("where").asText() : null, last, j.get("chunks").asLong(),
                            j.get("rows").asLong());
                    job.failed = j.hasNonNull("failed") ? j.get("failed").asText() : null;
                    job.failedState = j.hasNonNull("failed_state") ? j.get("failed_state").asText() : null;
                    job.requestedAt = requestedAt(j);
                    jobs.add(job);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the snapshot progress in " + folder, e);
        }
    }

    /** The progress in {@code folder}, to describe it (nothing is read). */
    static ChunkedSnapshots progress(Path folder) {
        return new ChunkedSnapshots(folder, "", 1, new SnapshotThrottle(0), 1, () -> {
            throw new IllegalStateException("progress only");
        }, null);
    }

    /** The pipeline's helper threads, on which chunks are read. */
    void helpers(java.util.concurrent.Executor helpers) {
        readers.helpers(helpers);
    }

    /** Stops the readers; chunks in flight are dropped and read again by the next run. */
    @Override
    public void close() {
        readers.close();
        try {
            progress.close();
        } catch (IOException e) {
            LOG.debug("closing the snapshot progress in {}", folder, e);
        }
    }

    /** Asks for a snapshot of a table: a request file, taken up by the running pipeline or the next run. */
    static String request(Path folder, TableId table, String where) throws IOException {
        String id = UUID.randomUUID().toString();
        ObjectNode r = MAPPER.createObjectNode().put("id", id).put("schema", table.schema()).put("table", table.name())
                .put("where", where).put("requested_at", Instant.now().toString());
        DurableFiles.replace(folder.resolve("request-" + id + ".json"), MAPPER.writeValueAsBytes(r));
        return id;
    }

    /**
     * Gives up the snapshots of {@code table}: deletes its requests not taken up yet, and leaves a
     * cancel request that the running pipeline (or the next run) takes up by removing the table's
     * jobs. Returns what was there to cancel: the table's jobs ({@code "<state>[ where …]"}) and requests;
     * empty when nothing was, and then no request is left.
     */
    static List<String> cancel(Path folder, TableId table) throws IOException {
        List<String> found = new ArrayList<>();
        if (Files.isDirectory(folder)) {
            try (Stream<Path> s = Files.list(folder)) {
                for (Path f : s.filter(ChunkedSnapshots::isRequest).toList()) {
                    JsonNode r;
                    try {
                        r = MAPPER.readTree(f.toFile());
                    } catch (IOException e) {
                        continue; // taken up meanwhile
                    }
                    if (!r.path("cancel").asBoolean() && table.equals(new TableId(r.get("schema").asText(),
                            r.get("table").asText())) && Files.deleteIfExists(f)) {
                        found.add("requested, not taken up yet" + (r.hasNonNull("where") ? " where "
                                + r.get("where").asText() : ""));
                    }
                }
            }
        }
        // the progress after the requests: one the running pipeline takes up meanwhile is in it by then
        for (Job j : progress(folder).jobs) {
            if (j.table.equals(table)) {
                found.add((j.failed != null ? "stopped (" + j.failed + ")" : "running, " + j.rows + " rows read")
                        + (j.where == null ? "" : " where " + j.where));
            }
        }
        if (!found.isEmpty()) {
            String id = UUID.randomUUID().toString();
            ObjectNode r = MAPPER.createObjectNode().put("id", id).put("schema", table.schema())
                    .put("table", table.name()).put("cancel", true).put("requested_at", Instant.now().toString());
            DurableFiles.replace(folder.resolve("request-" + id + ".json"), MAPPER.writeValueAsBytes(r));
        }
        return found;
    }

    /**
     * Queues the tables not queued yet (the first run of {@code snapshot: chunked}), durably, before
     * the slot is created.
     */
    void enqueueMissing(List<TableId> tables) {
        for (TableId t : tables) {
            if (jobs.stream().noneMatch(j -> j.table.equals(t) && j.where == null)) {
                jobs.add(new Job(UUID.randomUUID().toString(), t, null, null, 0, 0));
            }
        }
        save();
    }

    /** The stopped jobs, each as {@code "<table>[ where …]: <reason>"} (capture thread, or after the run). */
    List<StoppedSnapshot> stopped() {
        List<StoppedSnapshot> out = new ArrayList<>();
        for (Job j : jobs) {
            if (j.failed != null) {
                out.add(new StoppedSnapshot(j.table + (j.where == null ? "" : " where " + j.where) + ": " + j.failed,
                        stopKind(j.failedState)));
            }
        }
        return out;
    }

    /**
     * What stopped a job, by the SQLSTATE of its error: PREREQUISITE for Ferry's own stop (null: the
     * table has no key), a statement that cannot run as written (class 42: a privilege, a condition
     * naming a column no longer there) and an object not in the state it needs (55000: the replica is
     * no standby); else the kind the error has anywhere else on the source (a full disk, an internal
     * error: INTERNAL).
     */
    static ErrorKind stopKind(String sqlState) {
        if (sqlState == null || sqlState.startsWith("42") || sqlState.equals("55000")) {
            return ErrorKind.PREREQUISITE;
        }
        return sqlState.startsWith("08") || sqlState.startsWith("57P") ? ErrorKind.CONNECTIVITY : ErrorKind.INTERNAL;
    }

    /**
     * Forgets the stopped jobs of tables no longer captured ({@code tables:} changed, or the table is
     * gone): no request could clear them, and a batch run would fail on them for ever.
     */
    void forgetStoppedBeyond(List<TableId> captured) {
        boolean changed = false;
        for (var it = jobs.iterator(); it.hasNext(); ) {
            Job j = it.next();
            if (j.failed != null && !captured.contains(j.table)) {
                it.remove();
                changed = true;
                LOG.info("Forgetting the stopped snapshot of {} (it stopped: {}): the table is no longer captured",
                        j.table, j.failed);
            }
        }
        if (changed) {
            save();
        }
    }

    /** Whether nothing is left to read or to record. */
    boolean idle() {
        return jobs.stream().allMatch(j -> j.failed != null) && inFlight == 0 && emitted.isEmpty()
                && !requestsWaiting();
    }

    @Override
    public void run() throws SQLException, FerryException {
        step();
    }

    /** Whether a table is being read or a reader's result is waiting: {@link #step} then has work. */
    @Override
    public boolean pending() {
        return inFlight > 0 || !outcomes.isEmpty() || jobs.stream().anyMatch(j -> j.failed == null);
    }

    /**
     * Takes up new requests, handles what readers could not do, and hands the next chunks to the
     * readers while fewer than {@code chunksInFlight} are in flight and the throttle allows. Runs
     * no statement itself: the capture thread's time goes to the stream.
     */
    void step() throws SQLException, FerryException {
        long now = System.currentTimeMillis();
        if (now >= nextRequestScanMillis) {
            nextRequestScanMillis = now + REQUEST_SCAN_MILLIS;
            takeRequests();
        }
        for (Outcome o; (o = outcomes.poll()) != null; ) {
            handle(o);
        }
        while (inFlight < chunksInFlight && (retryAfterNanos == null || System.nanoTime() - retryAfterNanos >= 0)) {
            Job job = jobs.stream().filter(j -> j.hasWork(chunksInFlight)).findFirst().orElse(null);
            if (job == null) {
                return;
            }
            probe(); // from before the first chunk: the throttle's first pause sets its baseline
            if (!throttle.mayRead(System.nanoTime())) {
                return;
            }
            if (job.startMillis == 0) {
                job.startMillis = System.currentTimeMillis();
                job.startRows = job.rows;
            }
            inFlight++;
            // the rows the chunk asks for: fewer than chunkRows when the table's rows are wide
            throttle.chunkRead(job.chunkRows(chunkRows), System.nanoTime());
            job.handedOut();
            java.util.concurrent.atomic.AtomicBoolean started = new java.util.concurrent.atomic.AtomicBoolean();
            readers.submit(session -> {
                started.set(true);
                job.started();
                readNext(session, job);
            }, e -> {
                if (!started.getAndSet(true)) {
                    job.started(); // failed before it ran (no session could be opened)
                }
                outcomes.add(new Outcome(job, null, e, null, false));
            });
        }
    }

    /** The adaptive throttle's probe: the WAL insert position, its latency timed. */
    private static final String PROBE = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint";
    /**
     * The probe with the largest replay lag of the source's physical standbys in bytes (null: none
     * visible), and how many standbys the user cannot see (their positions read null without
     * pg_read_all_stats). Logical walsenders, Ferry's own among them, are not standbys.
     */
    private static final String PROBE_WITH_STANDBYS = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint, "
            + "max(pg_current_wal_lsn() - r.replay_lsn)::bigint, count(*) FILTER (WHERE r.replay_lsn IS NULL) "
            + "FROM pg_stat_replication r WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots s "
            + "WHERE s.active_pid = r.pid AND s.slot_type = 'logical')";

    /** Times the probe query for an adaptive throttle while chunks are to be read, on a helper thread. */
    private void probe() {
        lastWorkNanos = System.nanoTime();
        if (!throttle.adaptive() || probing || System.nanoTime() - probeRetryNanos < 0) {
            return;
        }
        if (!readers.threaded()) {
            throttle.withoutProbe(); // no thread to probe on (a source outside a pipeline): the cap alone
            return;
        }
        probing = true;
        readers.submit(session -> {
            boolean replicas = throttle.watchesReplicas();
            try (PreparedStatement probe = session.source().prepareStatement(replicas ? PROBE_WITH_STANDBYS : PROBE)) {
                boolean told = false;
                boolean lagTold = false;
                // ends a while after the last chunk: an idle pipeline holds no probe connection
                while (!readers.closed() && System.nanoTime() - lastWorkNanos < 10_000_000_000L) {
                    Thread.sleep(SnapshotThrottle.PROBE_MILLIS);
                    long start = System.nanoTime();
                    long wal;
                    long lag = -1;
                    try (ResultSet rs = probe.executeQuery()) {
                        rs.next();
                        wal = rs.getLong(1);
                        if (replicas) {
                            long visible = rs.getLong(2);
                            lag = rs.wasNull() ? -1 : visible;
                            if (lag < 0 && rs.getLong(3) > 0 && !told) {
                                told = true;
                                LOG.info("The source has {} standby(s) whose replay the pipeline's user cannot see: the "
                                        + "snapshot's pacing leaves them out (GRANT pg_read_all_stats TO the user to "
                                        + "include them, or set snapshot_max_replica_lag_mb: 0)", rs.getLong(3));
                            }
                        }
                    }
                    long end = System.nanoTime();
                    throttle.probed(end - start, wal, lag, end);
                    if (throttle.replicaLagging() != lagTold) {
                        lagTold = !lagTold;
                        LOG.info(lagTold ? "A standby of the source replays {} MB behind it and falling further "
                                + "behind: the snapshot slows down" : "The standbys keep up again ({} MB behind)",
                                lag / (1024 * 1024));
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                probing = false;
            }
        }, e -> {
            // no probe for a while (a full server, a lost connection): the pace holds meanwhile
            probeRetryNanos = System.nanoTime() + 10_000_000_000L;
            probing = false;
            LOG.info("The snapshot's probe stopped ({}); trying again in 10 s", e.getMessage());
        });
    }

    /**
     * On a reader's thread: checks the table, takes the job's next range (planning it), and reads
     * it between its watermarks; anything else ends as an {@link Outcome}.
     */
    private void readNext(ChunkReaders.Session session, Job job) throws SQLException {
        Catalog catalog = session.catalog();
        if (!catalog.exists(job.table)) {
            outcomes.add(new Outcome(job, null, null, null, true));
            return;
        }
        List<String> keyNames = catalog.keyInIndexOrder(job.table);
        TableSchema schema = catalog.schema(job.table);
        if (keyNames.isEmpty() || keyNames.stream().anyMatch(k -> schema.indexOf(k) < 0)) {
            outcomes.add(new Outcome(job, null, null, "it has no primary key or replica identity index (or its key is "
                    + "a generated column); add one and run ferry snapshot again", false));
            return;
        }
        if (job.estimate < 0) {
            job.estimate = catalog.estimatedRows(job.table);
        }
        String table = from(catalog, job.table);
        Range range;
        try {
            range = take(session, job, schema, keyNames, table);
        } catch (SQLException e) {
            outcomes.add(new Outcome(job, null, e, null, false));
            return;
        }
        if (range == null) {
            outcomes.add(new Outcome(job, null, null, null, false)); // nothing to do after all
            return;
        }
        Window w = new Window(job, range, schema, keyNames);
        try {
            readChunk(session, w, table);
        } catch (SQLException | RuntimeException | Error e) {
            // reported once, here (not thrown on: the reader would report it again); a failure that
            // is not SQL's stops the pipeline on the capture thread
            if (windows.remove(w.id) != null) {
                outcomes.add(new Outcome(job, range, e, null, false)); // else the high watermark came and settled it
            }
        }
    }

    /**
     * The job's next range: one put back, or the next planned; null when there is none now. Ranges
     * are planned where the chunks are read; the end key comes from the source itself, whose stream
     * brings every row committed after it (a lagging standby's last key could leave rows out).
     */
    private Range take(ChunkReaders.Session session, Job job, TableSchema schema, List<String> keyNames, String table)
            throws SQLException {
        synchronized (job.planning) {
            List<String> start;
            synchronized (job) {
                if (!job.pending.isEmpty()) {
                    return job.pending.poll();
                }
                if (job.allPlanned || job.nextSeq - job.doneSeq - 1 >= chunksInFlight) {
                    return null;
                }
                start = job.planned;
            }
            List<Column> keys = keyNames.stream().map(k -> schema.column(schema.indexOf(k))).toList();
            if (!job.endKnown) {
                job.endKey = endKey(session.source(), job, keys, table);
                job.endKnown = true;
            }
            List<String> end = boundary(session.read(), job, keys, table, start);
            boolean last = end == null;
            if (last) {
                end = job.endKey;
            }
            synchronized (job) {
                Range range = new Range(job.nextSeq++, start, end, last);
                job.planned = end;
                job.allPlanned = last;
                return range;
            }
        }
    }

    /** The table's last key (with the job's condition), or null when no row matches. */
    private List<String> endKey(Connection c, Job job, List<Column> keys, String table) throws SQLException {
        String keyList = keys.stream().map(k -> quoteIdent(k.name())).collect(Collectors.joining(", "));
        StringBuilder sql = new StringBuilder("SELECT ").append(keyList).append(" FROM ").append(table)
                .append(" WHERE true");
        if (job.where != null) {
            sql.append(" AND (").append(job.where).append(')');
        }
        sql.append(" ORDER BY ").append(keys.stream().map(k -> quoteIdent(k.name()) + " DESC")
                .collect(Collectors.joining(", "))).append(" LIMIT 1");
        return keyAt(c, sql.toString(), keys.size(), null, null);
    }

    /**
     * Where a range from {@code start} ends: the key {@code chunkRows} rows on (an index-only walk
     * in the key index), or null when fewer are left before the job's end key.
     */
    private List<String> boundary(Connection c, Job job, List<Column> keys, String table, List<String> start)
            throws SQLException {
        String keyList = keys.stream().map(k -> quoteIdent(k.name())).collect(Collectors.joining(", "));
        StringBuilder sql = new StringBuilder("SELECT ").append(keyList).append(" FROM ").append(table)
                .append(" WHERE true");
        if (job.where != null) {
            sql.append(" AND (").append(job.where).append(')');
        }
        if (start != null) {
            sql.append(" AND (").append(keyList).append(") > (").append(casts(keys)).append(')');
        }
        if (job.endKey != null) {
            sql.append(" AND (").append(keyList).append(") <= (").append(casts(keys)).append(')');
        }
        sql.append(" ORDER BY ").append(keyList).append(" OFFSET ").append(chunkRows - 1).append(" LIMIT 1");
        return keyAt(c, sql.toString(), keys.size(), start, job.endKey);
    }

    /** The key a query returns (texts), in a short read-only transaction; null when it returns none. */
    private static List<String> keyAt(Connection c, String sql, int width, List<String> from, List<String> to)
            throws SQLException {
        return inShortTransaction(c, false, () -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                bind(ps, bind(ps, 1, from), to);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return null;
                    }
                    List<String> texts = new ArrayList<>(width);
                    for (int i = 1; i <= width; i++) {
                        texts.add(rs.getString(i));
                    }
                    return texts;
                }
            }
        });
    }

    /** What a reader could not do, on the capture thread: the connection's failures go up. */
    private void handle(Outcome o) throws SQLException, FerryException {
        inFlight--;
        Job job = o.job();
        if (o.range() != null) {
            job.putBack(o.range());
        }
        if (!jobs.contains(job)) {
            return; // cancelled meanwhile (ferry snapshot --cancel)
        }
        if (o.dropped()) {
            if (jobs.remove(job)) {
                LOG.warn("Table {} was dropped: its snapshot ends here.", job.table);
                save();
            }
        } else if (o.stop() != null) {
            if (job.failed == null) {
                fail(job, o.stop(), null);
            }
        } else if (o.error() instanceof SQLException e) {
            failed(job, e);
        } else if (o.error() instanceof FerryException e) {
            throw e;
        } else if (o.error() != null) {
            throw new IllegalStateException("A snapshot reader failed: " + o.error(), o.error());
        }
    }

    /** Retries later after a timeout; stops the job on a bad statement; throws a lost connection. */
    private void failed(Job job, SQLException e) throws SQLException {
        String state = String.valueOf(e.getSQLState());
        if (state.startsWith("08") || state.startsWith("57P")) {
            throw e; // the connection: the source reconnects
        }
        if (state.equals("57014") || state.equals("55P03") || state.equals("40001")) {
            // a timeout, a lock not granted in time, or (on a standby) a conflict with recovery: a low
            // watermark already written arrives unknown and is ignored; try again in a while
            LOG.info("A chunk of {} could not be read now ({}); trying again in 5 s", job.table, e.getMessage());
            retryAfterNanos = System.nanoTime() + 5_000_000_000L;
            return;
        }
        fail(job, e.getMessage(), e.getSQLState());
    }

    private void fail(Job job, String why, String sqlState) {
        job.failed = why;
        job.failedState = sqlState;
        LOG.error("The snapshot of {} stopped: {}. Other tables go on; ferry status shows it.", job.table, why);
        save();
    }

    /** The stream committed a transaction: a chunk read while it was not yet visible must not stand. */
    void committed(long xid) {
        recentCommits.put(xid & 0xFFFFFFFFL, ++commits);
        lastCommits[(int) (commits % lastCommits.length)] = xid & 0xFFFFFFFFL;
        if (recentCommits.size() > RECENT_COMMITS) {
            // the commits just before an open window's low watermark stay until its high one
            long keepFrom = Long.MAX_VALUE;
            for (Window w : windows.values()) {
                if (w.lowSeen) {
                    keepFrom = Math.min(keepFrom, w.commitsAtLow - RECENT_COMMITS);
                }
            }
            var it = recentCommits.entrySet().iterator();
            while (recentCommits.size() > RECENT_COMMITS && it.hasNext()) {
                if (it.next().getValue() >= keepFrom) {
                    break;
                }
                it.remove();
            }
        }
    }

    /** A watermark of this pipeline arrived in the stream; returns the chunk's reads at a high one. */
    List<ChangeEvent> watermark(String content, long lsn, long firstIndex, long txId, Instant committed) {
        String[] parts = content.split(" ");
        if (parts.length != 2) {
            return List.of();
        }
        if (parts[0].equals(LOW)) {
            Window w = windows.get(parts[1]);
            if (w != null) {
                w.lowSeen = true;
                w.commitsAtLow = commits;
            }
            return List.of();
        }
        // the one who removes the window settles it: here, or a reader whose watermark failed
        Window w = parts[0].equals(HIGH) ? windows.remove(parts[1]) : null;
        if (w == null) {
            return List.of(); // another run's, or not a watermark
        }
        inFlight--;
        Job job = w.job;
        if (!w.ready || !w.lowSeen || w.spoiled || missedCommit(w)) {
            job.putBack(w.range); // read the range again
            return List.of();
        }
        List<ChangeEvent> out = new ArrayList<>(w.rows.size());
        long index = firstIndex;
        if (!w.truncated) {
            for (Row row : w.rows) {
                if (w.changed.isEmpty() || !w.changed.contains(keyOf(row, w.schema, w.keyNames))) {
                    out.add(new ChangeEvent(Op.READ, w.schema, null, row, java.util.Set.of(),
                            new PgPosition(lsn, false, index++), txId, committed));
                }
            }
        }
        PgPosition through = out.isEmpty() ? PgPosition.at(lsn) : (PgPosition) out.get(out.size() - 1).position();
        if (w.cut) {
            job.putBack(new Range(w.range.seq(), w.lastKey, w.range.end(), w.range.last())); // the rest of the range
            emitted.add(new Emitted(job, through, w.range.seq(), null, w.lastKey, out.size()));
        } else {
            emitted.add(new Emitted(job, through, w.range.seq(), w.range.last() ? List.of() : w.range.end(), null,
                    out.size()));
        }
        return out;
    }

    /**
     * Whether a transaction that the stream committed before the low watermark was in progress for
     * the chunk's read (its commit record is written before it becomes visible): its change was
     * not reconciled, so the chunk may hold the row as it was before it.
     */
    private boolean missedCommit(Window w) {
        for (Long xid : w.invisible.inProgress()) {
            Long at = recentCommits.get(xid);
            if (at != null && at <= w.commitsAtLow) {
                return true;
            }
        }
        // beyond xmax: transactions that began after every completed one, so committed just before
        // the low watermark; the last commits before it tell
        long from = Math.max(0, w.commitsAtLow - XMAX_LOOKBACK);
        if (commits - from >= lastCommits.length) {
            return true; // no longer known: read the chunk again rather than guess
        }
        for (long c = w.commitsAtLow; c > from; c--) {
            if (w.invisible.beyondXmax(lastCommits[(int) (c % lastCommits.length)])) {
                return true;
            }
        }
        return false;
    }

    /** A streamed change: between the watermarks, the chunk gives way to it. */
    void observe(ChangeEvent e) {
        if (windows.isEmpty()) {
            return;
        }
        for (Window w : windows.values()) {
            if (!w.lowSeen || !e.table().equals(w.job.table)) {
                continue;
            }
            if (e.op() == Op.TRUNCATE) {
                w.truncated = true;
                continue;
            }
            for (Row row : new Row[] {e.before(), e.after()}) {
                if (row == null) {
                    continue;
                }
                List<Object> key = keyOf(row, e.schema(), w.keyNames);
                if (key == null) {
                    w.spoiled = true;
                    break;
                }
                w.changed.add(key);
            }
        }
    }

    /**
     * Records the progress of every chunk whose reads are durable at {@code durable}; called before
     * that position is confirmed to the server.
     */
    void durable(PgPosition durable) {
        boolean changed = false;
        while (!emitted.isEmpty() && emitted.peek().through().compareTo(durable) <= 0) {
            Emitted e = emitted.poll();
            changed = true;
            Job job = e.job();
            job.chunks++;
            job.rows += e.rows();
            synchronized (job) {
                if (e.end() == null) {
                    // the rest of its range is still to read; if every range before it is done, a
                    // restart need not read this part again
                    if (e.seq() == job.doneSeq + 1 && e.reached() != null) {
                        job.lastKey = e.reached();
                    }
                    continue;
                }
                job.done.put(e.seq(), e.end());
                while (!job.done.isEmpty() && job.done.firstKey() == job.doneSeq + 1) {
                    List<String> end = job.done.pollFirstEntry().getValue();
                    job.doneSeq++;
                    if (end.isEmpty() && jobs.remove(job)) {
                        LOG.info("Snapshot of {} finished: {} rows in {} chunks", job.table,
                                String.format("%,d", job.rows), job.chunks);
                    } else if (!end.isEmpty()) {
                        job.lastKey = end;
                    }
                }
            }
        }
        if (changed) {
            CrashPoints.reach("postgres.snapshot-progress"); // tests: die with a chunk in the Log, not in the progress
            save();
            long now = System.currentTimeMillis();
            if (now >= nextReportMillis) {
                nextReportMillis = now + 5_000;
                describe().forEach((table, progress) -> LOG.info("{}: {}", table, progress));
            }
        }
    }

    /** Looks up each job's estimated size (for {@code ferry status}, in another process than the run). */
    void estimate(Catalog catalog) throws SQLException {
        for (Job j : jobs) {
            j.estimate = catalog.estimatedRows(j.table);
        }
    }

    /**
     * Where the snapshot requested as {@code id} is: its request waiting, its job, or neither (done).
     * The request is looked at before the progress: a request is taken up by saving its job before
     * deleting its file, so one of the two holds it until it is done.
     */
    static SnapshotProgress progress(Path folder, String id, Catalog catalog) throws SQLException {
        Path request = folder.resolve("request-" + id + ".json");
        if (Files.exists(request)) {
            try {
                JsonNode r = MAPPER.readTree(request.toFile());
                return new SnapshotProgress(id, new TableId(r.get("schema").asText(), r.get("table").asText()),
                        SnapshotProgress.State.REQUESTED, 0, 0, -1, null);
            } catch (IOException e) {
                // taken up (and deleted) while being read: the progress tells
            }
        }
        for (Job j : progress(folder).jobs) {
            if (j.id.equals(id)) {
                long estimate = j.where == null && j.failed == null ? catalog.estimatedRows(j.table) : -1;
                return new SnapshotProgress(id, j.table, j.failed == null ? SnapshotProgress.State.RUNNING
                        : SnapshotProgress.State.STOPPED, j.rows, j.chunks, estimate, j.failed);
            }
        }
        return new SnapshotProgress(id, null, SnapshotProgress.State.DONE, 0, 0, -1, null);
    }

    /** Progress lines for {@code ferry status} and the run's log. */
    Map<String, String> describe() {
        Map<String, String> out = new LinkedHashMap<>();
        for (Job j : jobs) {
            StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%,d", j.rows));
            if (j.estimate > 0 && j.where == null) {
                b.append(String.format(Locale.ROOT, " of ~%,d rows (%d%%)", j.estimate,
                        Math.min(100, j.rows * 100 / j.estimate)));
            } else {
                b.append(" rows");
            }
            b.append(String.format(Locale.ROOT, " in %,d chunks", j.chunks));
            long seconds = (System.currentTimeMillis() - j.startMillis) / 1000;
            if (j.startMillis > 0 && seconds > 0 && j.rows > j.startRows) {
                long rate = (j.rows - j.startRows) / seconds;
                b.append(String.format(Locale.ROOT, ", %,d rows/s", rate));
                if (j.estimate > j.rows && j.where == null && rate > 0) {
                    b.append(String.format(Locale.ROOT, ", about %d s to go", (j.estimate - j.rows) / rate));
                }
            }
            if (j.where != null) {
                b.append(" (where ").append(j.where).append(')');
            }
            if (j.failed != null) {
                b.append("; STOPPED: ").append(j.failed);
            }
            out.put("snapshot " + j.table, b.toString());
        }
        return out;
    }

    /**
     * The source stopped with events lost after {@code returned} (a failure while stopping): chunks
     * emitted beyond it are not in the Log and must not be recorded as done.
     */
    void forgetBeyond(PgPosition returned) {
        emitted.removeIf(e -> e.through().compareTo(returned) > 0);
    }

    /**
     * On a reader's thread: the low watermark, the chunk in one short read-only transaction, the
     * high watermark. From a standby, the chunk is read once the standby has replayed the low
     * watermark: it then sees every change before it, like the source would.
     */
    private void readChunk(ChunkReaders.Session session, Window w, String table) throws SQLException {
        Connection c = session.read();
        windows.put(w.id, w); // before the low watermark, which the capture thread may see at once
        watermark(session.source(), LOW, w.id);
        if (c != session.source()) {
            awaitReplay(session);
        }
        List<Column> keys = w.keyNames.stream().map(k -> w.schema.column(w.schema.indexOf(k))).toList();
        String keyList = keys.stream().map(k -> quoteIdent(k.name())).collect(Collectors.joining(", "));
        String columns = w.schema.columns().stream().map(k -> quoteIdent(k.name())).collect(Collectors.joining(", "));
        StringBuilder where = new StringBuilder(" WHERE true");
        if (w.job.where != null) {
            where.append(" AND (").append(w.job.where).append(')');
        }
        // COPY takes no parameters: the bounds are literals of the keys' types. Row comparisons walk the
        // key index between them
        if (w.range.start() != null) {
            where.append(" AND (").append(keyList).append(") > (").append(literals(keys, w.range.start())).append(')');
        }
        if (w.range.end() != null) {
            where.append(" AND (").append(keyList).append(") <= (").append(literals(keys, w.range.end())).append(')');
        }
        int limit = w.job.chunkRows(chunkRows);
        String select = "SELECT " + columns + " FROM " + table + where + " ORDER BY " + keyList + " LIMIT " + limit;
        CrashPoints.reach("postgres.snapshot-chunk");
        inShortTransaction(c, true, () -> {
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT pg_current_snapshot()::text")) {
                rs.next();
                w.invisible = Invisible.parse(rs.getString(1));
            }
            copyRows(c, w, keys, select, limit);
            return null;
        });
        w.ready = true;
        watermark(session.source(), HIGH, w.id);
    }

    /** Waits (at most 30 s) until the standby has replayed the source's WAL as far as it is written now. */
    private static void awaitReplay(ChunkReaders.Session session) throws SQLException {
        String target;
        try (Statement s = session.source().createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_current_wal_lsn()::text")) {
            rs.next();
            target = rs.getString(1);
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        try (PreparedStatement ps = session.read().prepareStatement(
                "SELECT pg_is_in_recovery(), coalesce(pg_last_wal_replay_lsn() >= ?::pg_lsn, false)")) {
            ps.setString(1, target);
            while (true) {
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        throw new SQLException("snapshot_replica is not a standby (pg_is_in_recovery() is false): "
                                + "chunks can only be read from a hot standby of the source", "55000");
                    }
                    if (rs.getBoolean(2)) {
                        return;
                    }
                }
                if (System.nanoTime() - deadline > 0) {
                    // taken as a timeout: the chunk is tried again in a while, the stream goes on
                    throw new SQLException("the standby (snapshot_replica) has not replayed " + target
                            + " within 30 s", "57014");
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SQLException("interrupted while waiting for the standby", "57014", e);
                }
            }
        }
    }

    /** A statement's work in one short read-only transaction with a statement and a lock timeout. */
    private interface Body<T> {
        T run() throws SQLException;
    }

    private static <T> T inShortTransaction(Connection c, boolean repeatableRead, Body<T> body) throws SQLException {
        c.setAutoCommit(false);
        c.setTransactionIsolation(repeatableRead ? Connection.TRANSACTION_REPEATABLE_READ
                : Connection.TRANSACTION_READ_COMMITTED);
        c.setReadOnly(true);
        try (Statement s = c.createStatement()) {
            s.execute("SET LOCAL statement_timeout = '30s'");
            // never queue behind (and so block) a waiting ALTER TABLE
            s.execute("SET LOCAL lock_timeout = '200ms'");
            T out = body.run();
            c.commit();
            return out;
        } catch (SQLException e) {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // the connection is gone; the caller sees the first failure
            }
            throw e;
        } finally {
            if (!c.isClosed()) { // closed by a COPY that failed on it: its error goes up, not "closed"
                c.setAutoCommit(true);
                c.setReadOnly(false);
                c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
            }
        }
    }

    /**
     * The transactions a snapshot ({@code pg_current_snapshot()}, text form {@code xmin:xmax:xip,...})
     * cannot see: those in progress, and those at or beyond its xmax (xmax is the latest completed
     * xid + 1, so a transaction that started after the low watermark's may be beyond it yet have
     * its commit record before the watermark's). As low 32 bits, the stream's xids.
     */
    record Invisible(java.util.Set<Long> inProgress, long xmax) {
        static final Invisible NONE = new Invisible(java.util.Set.of(), -1);

        static Invisible parse(String snapshot) {
            String[] parts = snapshot.split(":");
            java.util.Set<Long> out = new java.util.HashSet<>();
            if (parts.length == 3 && !parts[2].isEmpty()) {
                for (String xid : parts[2].split(",")) {
                    out.add(Long.parseLong(xid) & 0xFFFFFFFFL);
                }
            }
            return new Invisible(out, Long.parseLong(parts[1]) & 0xFFFFFFFFL);
        }

        boolean contains(long xid) {
            return inProgress.contains(xid) || beyondXmax(xid);
        }

        boolean beyondXmax(long xid) {
            return xmax >= 0 && (int) (xid - xmax) >= 0; // 32-bit xids wrap around: compare by difference
        }
    }

    /**
     * Reads the chunk's rows into {@code w} through {@code COPY (select) TO STDOUT}, at most about
     * {@link #CHUNK_BYTES}: the chunk is cut there (the copy cancelled), and the rest of its range read
     * as another chunk.
     *
     * <p>COPY sends a CopyData message per row and the driver reads one per call, so it holds one row
     * whatever the widths (as {@link TableCopy} does), where a query's fetch is counted in rows before
     * they are seen (issue 7). The server only runs the rows' output functions, as for any text
     * result: the chunk's query used to count each row's bytes so that a fetch could leave wide rows
     * out, which cost the server about as much again per row as the rows themselves. The next chunk of
     * the table asks for as many rows as fill half of CHUNK_BYTES at this chunk's average width (at
     * most {@code chunkRows}), so wide rows seldom meet the cap and its cancel.
     */
    private void copyRows(Connection c, Window w, List<Column> keys, String select, int limit) throws SQLException {
        CopyOut copy = c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (" + select + ") TO STDOUT");
        try {
            Column[] columns = w.schema.columns().toArray(new Column[0]);
            boolean[] asBytes = TextValues.takesBytes(columns);
            int[] keyAt = keys.stream().mapToInt(k -> w.schema.indexOf(k.name())).toArray();
            CopyRow row = new CopyRow();
            RowEncoder encoder = new RowEncoder();
            // where the last row's key is: its line, unescaped in place, and each key field's start and length
            byte[] lastLine = null;
            int[] keyStart = new int[keyAt.length];
            int[] keyLength = new int[keyAt.length];
            long bytes = 0;
            byte[] line;
            while (bytes < CHUNK_BYTES && (line = copy.readFromCopy()) != null) {
                row.read(line, columns.length);
                encoder.reset();
                row.putValues(columns, asBytes, encoder);
                bytes += encoder.encodedSize();
                w.rows.add(encoder.finish());
                lastLine = line;
                for (int k = 0; k < keyAt.length; k++) {
                    keyStart[k] = row.start(keyAt[k]);
                    keyLength[k] = row.length(keyAt[k]);
                }
            }
            if (lastLine != null) {
                List<String> last = new ArrayList<>(keyAt.length);
                for (int k = 0; k < keyAt.length; k++) {
                    last.add(keyLength[k] < 0 ? null : new String(lastLine, keyStart[k], keyLength[k], StandardCharsets.UTF_8));
                }
                w.lastKey = last;
                long average = Math.max(1, bytes / w.rows.size());
                w.job.chunkLimit = (int) Math.max(1, Math.min(chunkRows, CHUNK_BYTES / 2 / average));
            }
            // cut at the byte cap, or at the row limit short of the range's end (rows came in meanwhile)
            boolean full = copy.isActive() || w.rows.size() >= limit;
            w.cut = full && !w.rows.isEmpty() && !w.lastKey.equals(w.range.end());
        } catch (SQLException | RuntimeException | Error e) {
            try {
                if (copy.isActive() && e instanceof SQLException) {
                    // a server's error ends the copy: one still open failed on its connection (I/O)
                    abandon(c);
                } else if (copy.isActive()) {
                    endCopy(c, copy); // a value that could not be taken, or out of memory
                }
            } catch (SQLException | RuntimeException | Error end) {
                e.addSuppressed(end);
            }
            throw e;
        }
        if (copy.isActive()) {
            endCopy(c, copy); // the byte cap: the rest of the range is the next chunk
        }
    }

    /**
     * Ends a copy whose rows are not wanted: the server is asked to cancel it, and what it sent
     * meanwhile is read and dropped, one row at a time, until the copy's end (its error, or its last
     * row if it ended first). The transaction is rolled back: the cancel aborted it, and it only read.
     */
    private static void endCopy(Connection c, CopyOut copy) throws SQLException {
        try {
            // (pgjdbc only logs a cancel it could not send: the copy is then read to its end)
            c.unwrap(PGConnection.class).cancelQuery();
            while (copy.readFromCopy() != null) {
                // dropped
            }
        } catch (SQLException e) {
            if (copy.isActive() || !"57014".equals(e.getSQLState())) {
                throw e;
            }
        } finally {
            if (copy.isActive()) {
                abandon(c); // it failed on its connection
            }
        }
        c.rollback();
    }

    /**
     * Closes a connection whose COPY failed on it (an I/O error): pgjdbc keeps the connection held for
     * the copy, which never ends, and the next statement on it (the transaction's rollback) would wait
     * for it for ever. Closed, every statement on it fails at once with the connection's error.
     */
    private static void abandon(Connection c) {
        PostgresConnections.close(c);
    }

    /** A key's texts as SQL literals cast to the key columns' types: {@code E'text'::type, ...}. */
    static String literals(List<Column> keys, List<String> key) {
        StringBuilder out = new StringBuilder();
        for (int k = 0; k < keys.size(); k++) {
            if (k > 0) {
                out.append(", ");
            }
            // in an E'' literal, \\ is a backslash and '' a quote, whatever standard_conforming_strings says
            out.append("E'").append(key.get(k).replace("\\", "\\\\").replace("'", "''")).append("'::")
                    .append(keys.get(k).sourceType());
        }
        return out.toString();
    }

    /** Binds a key's texts from parameter {@code at}; returns the next parameter's index. */
    private static int bind(PreparedStatement ps, int at, List<String> key) throws SQLException {
        if (key == null) {
            return at;
        }
        for (String text : key) {
            ps.setString(at++, text);
        }
        return at;
    }

    private static String casts(List<Column> keys) {
        return keys.stream().map(c -> "?::" + c.sourceType()).collect(Collectors.joining(", "));
    }

    private static String from(Catalog catalog, TableId table) throws SQLException {
        return (catalog.isPartitioned(table) ? "" : "ONLY ") + quoteIdent(table.schema()) + "." + quoteIdent(table.name());
    }

    private void watermark(Connection regular, String kind, String id) throws SQLException {
        try (PreparedStatement ps = regular.prepareStatement("SELECT pg_logical_emit_message(true, ?, ?)")) {
            ps.setString(1, prefix);
            ps.setString(2, kind + " " + id);
            ps.execute();
        }
    }

    /** The key of a row, comparable across the chunk and the stream; null when a key column is missing. */
    private static List<Object> keyOf(Row row, TableSchema schema, List<String> keyNames) {
        List<Object> key = new ArrayList<>(keyNames.size());
        for (String k : keyNames) {
            int i = schema.indexOf(k);
            if (i < 0) {
                return null;
            }
            Object v = row.get(i);
            key.add(v instanceof byte[] b ? HexFormat.of().formatHex(b) : v);
        }
        return key;
    }

    private boolean requestsWaiting() {
        try (Stream<Path> files = Files.isDirectory(folder) ? Files.list(folder) : Stream.empty()) {
            return files.anyMatch(ChunkedSnapshots::isRequest);
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean isRequest(Path p) {
        String name = p.getFileName().toString();
        return name.startsWith("request-") && name.endsWith(".json");
    }

    /** Moves request files into the progress: the progress is saved before the files are deleted. */
    private void takeRequests() {
        if (!Files.isDirectory(folder)) {
            return;
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(folder)) {
            files = s.filter(ChunkedSnapshots::isRequest).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read snapshot requests in " + folder, e);
        }
        if (files.isEmpty()) {
            return;
        }
        // in the order they were made: a cancel and a request of one table taken in one scan
        List<JsonNode> requests = new ArrayList<>();
        for (Path f : files) {
            try {
                requests.add(MAPPER.readTree(f.toFile()));
            } catch (IOException | RuntimeException e) {
                LOG.warn("Ignoring the unreadable snapshot request {}: {}", f, e.getMessage());
            }
        }
        requests.sort(java.util.Comparator.comparing(ChunkedSnapshots::requestedAt));
        for (JsonNode r : requests) {
            try {
                if (jobs.stream().anyMatch(j -> j.id.equals(r.get("id").asText()))) {
                    continue; // taken before a crash kept its file
                }
                TableId table = new TableId(r.get("schema").asText(), r.get("table").asText());
                if (r.path("cancel").asBoolean()) {
                    // only what was asked for before it: a cancel read again (its file kept by a crash)
                    // leaves the requests made after it
                    Instant at = requestedAt(r);
                    if (jobs.removeIf(j -> j.table.equals(table) && !j.requestedAt.isAfter(at))) {
                        LOG.info("Snapshot of {} cancelled (ferry snapshot --cancel)", table);
                    }
                    continue;
                }
                String where = r.hasNonNull("where") ? r.get("where").asText() : null;
                // a new request supersedes the table's stopped snapshots it covers: the way to read them again
                if (jobs.removeIf(j -> j.failed != null && j.table.equals(table)
                        && (where == null || where.equals(j.where)))) {
                    LOG.info("Snapshot of {} requested again: it replaces the one that stopped", table);
                }
                Job job = new Job(r.get("id").asText(), table, where, null, 0, 0);
                job.requestedAt = requestedAt(r);
                jobs.add(job);
                LOG.info("Snapshot of {} requested{}; reading it in chunks of {} rows while streaming", table,
                        where == null ? "" : " (where " + where + ")", chunkRows);
            } catch (RuntimeException e) {
                LOG.warn("Ignoring the unreadable snapshot request {}: {}", r, e.getMessage());
            }
        }
        save();
        try {
            for (Path f : files) {
                Files.deleteIfExists(f);
            }
            DurableFiles.syncFolder(folder);
        } catch (IOException e) {
            LOG.warn("Could not delete the snapshot requests in {}: {}", folder, e.getMessage());
        }
    }

    /** When a request (or the job it made) was asked for; the epoch for jobs recorded without it. */
    private static Instant requestedAt(JsonNode r) {
        try {
            return r.hasNonNull("requested_at") ? Instant.parse(r.get("requested_at").asText()) : Instant.EPOCH;
        } catch (java.time.format.DateTimeParseException e) {
            return Instant.EPOCH;
        }
    }

    private void save() {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode list = root.putArray("jobs");
        for (Job j : jobs) {
            ObjectNode n = list.addObject().put("id", j.id).put("schema", j.table.schema()).put("table", j.table.name())
                    .put("where", j.where).put("chunks", j.chunks).put("rows", j.rows).put("failed", j.failed)
                    .put("failed_state", j.failedState).put("requested_at", j.requestedAt.toString());
            if (j.lastKey != null) {
                ArrayNode k = n.putArray("last_key");
                j.lastKey.forEach(k::add);
            }
        }
        try {
            progress.write(MAPPER.writeValueAsBytes(root));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record the snapshot progress in " + folder, e);
        }
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
