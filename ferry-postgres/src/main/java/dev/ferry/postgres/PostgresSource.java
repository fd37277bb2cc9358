package dev.ferry.postgres;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.TableId;
import dev.ferry.source.Check;
import dev.ferry.source.Position;
import dev.ferry.source.SnapshotProgress;
import dev.ferry.source.SnapshotRequest;
import dev.ferry.source.Source;
import dev.ferry.source.SourceBatch;
import dev.ferry.source.SourceInfo;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PostgreSQL change data capture through logical replication with the pgoutput plugin.
 *
 * <p>Design notes.
 * <ul>
 *   <li>First run: the publication is created (or completed), then the slot is created on the
 *       replication connection with an exported snapshot. The snapshot is read in a REPEATABLE READ
 *       transaction that imports it, so the copy and the stream meet exactly at the slot's consistent
 *       point, with no table lock. Only after the snapshot does the same replication connection
 *       start streaming (running anything on it earlier would end the exported snapshot).</li>
 *   <li>Streaming, positions, restarts and large transactions: {@link ChangeStream}. Tables added
 *       while streaming: {@link TableAdditions}.</li>
 * </ul>
 */
public final class PostgresSource implements Source {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresSource.class);
    /** Longer than the default wal_sender_timeout (60 s), after which the server drops a dead walsender. */
    private static final long SLOT_RELEASE_WAIT_MILLIS = 75_000;

    private final String pipelineName;
    private final ConnectionSettings settings;
    private final PostgresConnections connections;
    private final SlotManager slots;
    private final TableAdditions additions;

    private Connection catalogConnection;
    private Connection replicationConnection;
    private Catalog catalog;
    private int serverVersion;
    /** The initial snapshot while it is read; then {@link #changes}. */
    private TableCopy snapshot;
    private ChangeStream changes;
    /** The source's folder in the state folder (see {@link #workFolder}); a temporary one without. */
    private java.nio.file.Path workFolder;
    /** The pipeline's helper threads: chunked snapshots read their chunks on them. */
    private java.util.concurrent.ExecutorService helpers;
    /** Chunked snapshots between watermarks: {@code snapshot: chunked} and {@code ferry snapshot}. */
    private ChunkedSnapshots snapshots;
    private volatile boolean stopping;

    // where streaming is to start, settled by start()
    private PgPosition resumeAfter;
    private PgPosition reached;
    private long receivedLsn;
    private long flushLsn;
    private Position lastReturned;
    /** Set when events were lost to a failure while stopping: no later position may be reported. */
    private Position stoppedAt;
    /** The backend of the replication connection of the previous start, kept across close(). */
    private int previousReplicationPid;

    PostgresSource(String pipelineName, ConnectionSettings settings) {
        this.pipelineName = pipelineName;
        this.settings = settings;
        this.connections = new PostgresConnections(settings);
        this.slots = new SlotManager(settings.slot(), settings.publication());
        this.additions = new TableAdditions(settings, connections, slots);
    }

    @Override
    public void workFolder(java.nio.file.Path folder) {
        workFolder = folder;
    }

    /** The work folder, a private temporary one when the source was given none (tests, embedding). */
    private java.nio.file.Path work() throws FerryException {
        if (workFolder == null) {
            try {
                workFolder = java.nio.file.Files.createTempDirectory("ferry-work-");
            } catch (java.io.IOException e) {
                throw new FerryException(ErrorKind.INTERNAL, "Cannot create a temporary work folder: " + e.getMessage(), e);
            }
        }
        return workFolder;
    }

    /** Connections to {@code snapshot_replica}, or null to read chunks from the source. */
    private ChunkReaders.Opener replicaOpener() {
        ConnectionSettings replica = settings.replicaSettings();
        return replica == null ? null : new PostgresConnections(replica)::regular;
    }

    @Override
    public int helperThreads() {
        return settings.snapshotReaders() + (settings.adaptiveSnapshot() ? 1 : 0); // the readers, and the probe
    }

    @Override
    public void helpers(java.util.concurrent.ExecutorService helpers) {
        this.helpers = helpers;
    }

    @Override
    public SnapshotRequest requestSnapshot(TableId table, String where) throws FerryException {
        try {
            ensureCatalog();
            serverVersion = Integer.parseInt(catalog.setting("server_version_num"));
            requireChunkedSnapshots();
            if (where != null && (where.contains(";") || where.contains("--") || where.contains("/*"))) {
                throw FerryException.config("The condition --where must be one SQL condition, without ';' or comments.");
            }
            if (catalog.allTables().stream().noneMatch(t -> t.id().equals(table)) || !settings.tables().matches(table)) {
                throw FerryException.config("Table " + table + " is not captured by this pipeline (source.tables: "
                        + settings.tables() + "), or does not exist.");
            }
            if (catalog.keyInIndexOrder(table).isEmpty()) {
                throw new FerryException(ErrorKind.PREREQUISITE, "Table " + table + " has no primary key: a chunked "
                        + "snapshot reads it by key. Add a primary key (or a replica identity index).");
            }
            if (where != null) {
                // the condition is SQL: try it once, read-only, so that a mistake shows here and not in the pipeline
                catalogConnection.setAutoCommit(false);
                catalogConnection.setReadOnly(true);
                try (java.sql.Statement s = catalogConnection.createStatement()) {
                    s.execute("SELECT 1 FROM " + PostgresConnections.quoteIdent(table.schema()) + "."
                            + PostgresConnections.quoteIdent(table.name()) + " WHERE (" + where + ") LIMIT 0");
                } catch (SQLException e) {
                    throw FerryException.config("The condition --where " + where + " does not work on " + table + ": "
                            + e.getMessage());
                } finally {
                    catalogConnection.rollback();
                    catalogConnection.setAutoCommit(true);
                    catalogConnection.setReadOnly(false);
                }
            }
            String id = ChunkedSnapshots.request(work().resolve("snapshots"), table, where);
            return new SnapshotRequest(id, "Snapshot of " + table + (where == null ? "" : " where " + where)
                    + " requested (" + id + "): the running pipeline reads it in chunks of " + settings.chunkRows()
                    + " rows while it streams (or the next run does); ferry status shows the progress.");
        } catch (SQLException e) {
            throw connections.classify(e, false);
        } catch (java.io.IOException e) {
            throw new FerryException(ErrorKind.CONFIG, "Cannot write the snapshot request into " + work() + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public SourceInfo info() {
        return new SourceInfo("postgresql", pipelineName, settings.database());
    }

    @Override
    public List<Check> check() throws FerryException {
        return new Prerequisites(settings, connections, slots).check();
    }

    @Override
    public List<dev.ferry.source.StoppedSnapshot> stoppedSnapshots() {
        return snapshots == null ? List.of() : snapshots.stopped();
    }

    @Override
    public String cancelSnapshot(TableId table) throws FerryException {
        // no look at the database: the table may be gone, or no longer captured
        List<String> found;
        try {
            found = ChunkedSnapshots.cancel(work().resolve("snapshots"), table);
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            throw new FerryException(ErrorKind.CONFIG, "Cannot write the cancel request into " + work() + ": "
                    + e.getMessage(), e);
        }
        if (found.isEmpty()) {
            throw FerryException.config("There is no snapshot of " + table + " to cancel: none is recorded or "
                    + "requested (ferry status shows the snapshots; names are as in the catalog, e.g. public.orders).");
        }
        return "Snapshot of " + table + " cancelled: " + String.join("; ", found) + ". The running pipeline "
                + "drops it within a second (or the next run does); its rows read so far stay delivered.";
    }

    @Override
    public Optional<SnapshotProgress> snapshotProgress(String id) throws FerryException {
        try {
            ensureCatalog();
            return Optional.of(ChunkedSnapshots.progress(work().resolve("snapshots"), id, catalog));
        } catch (SQLException e) {
            throw connections.classify(e, false);
        }
    }

    @Override
    public Map<String, String> status() throws FerryException {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        try {
            ensureCatalog();
            out.putAll(slots.describe(catalogConnection));
            ChunkedSnapshots progress = ChunkedSnapshots.progress(work().resolve("snapshots"));
            progress.estimate(catalog);
            out.putAll(progress.describe());
            out.put("server WAL position", PgPosition.formatLsn(catalog.currentWalLsn()));
            return out;
        } catch (SQLException e) {
            throw connections.classify(e, false);
        }
    }

    @Override
    public List<String> dropPlan() throws FerryException {
        return dropTargets(false);
    }

    @Override
    public List<String> drop() throws FerryException {
        return dropTargets(true);
    }

    private List<String> dropTargets(boolean drop) throws FerryException {
        try {
            ensureCatalog();
            return slots.dropTargets(catalogConnection, settings, drop);
        } catch (SQLException e) {
            throw classifyRuntime(e);
        }
    }

    @Override
    public Position end() throws FerryException {
        try {
            ensureCatalog();
            return PgPosition.at(catalog.currentWalLsn());
        } catch (SQLException e) {
            throw connections.classify(e, false);
        }
    }

    @Override
    public void start(Optional<Position> resume, boolean startingOver) throws FerryException {
        try {
            ensureCatalog();
            Prerequisites.requireLogicalWal(catalog, settings);
            List<Catalog.TableInfo> tables = catalog.tables(settings.tables(), settings.tablesWhere(), resume.isEmpty());
            int version = Integer.parseInt(catalog.setting("server_version_num"));
            serverVersion = version;
            Publication publication = new Publication(settings, slots, additions, version);
            if (resume.isEmpty()) {
                tables = publication.createFor(catalogConnection, tables);
            }
            List<TableId> ids = tables.stream().map(Catalog.TableInfo::id).toList();
            snapshots = new ChunkedSnapshots(work().resolve("snapshots"), additions.prefix(), settings.chunkRows(),
                    new SnapshotThrottle(settings.maxRowsPerSecond(), settings.adaptiveSnapshot(), settings.chunkRows(),
                            settings.maxReplicaLagMb() * 1024L * 1024L),
                    settings.chunksInFlight(), connections::regular, replicaOpener());
            if (helpers != null) {
                snapshots.helpers(helpers);
            }
            snapshots.forgetStoppedBeyond(ids);
            List<TableId> keyless = resume.isEmpty() && settings.chunkedSnapshot() ? keyless(tables) : List.of();
            if (resume.isEmpty() && settings.chunkedSnapshot()) {
                requireChunkedSnapshots();
                // recorded before the slot exists: a run that dies after creating it still copies the tables
                snapshots.enqueueMissing(ids.stream().filter(id -> !keyless.contains(id)).toList());
            }
            // a chunk is reconciled with the stream by key: tables without one are copied from the slot's
            // exported snapshot, in one transaction, as snapshot: initial does
            boolean exportSnapshot = settings.initialSnapshot() || !keyless.isEmpty();
            Optional<SlotManager.SlotState> slot = slots.find(catalogConnection);
            if (slot.isPresent() && slot.get().active() && previousReplicationPid != 0
                    && slot.get().activePid() != null && slot.get().activePid() == previousReplicationPid) {
                // our own connection, lost a moment ago, still holds the slot until the server notices
                // (up to wal_sender_timeout): end it rather than wait
                LOG.info("Ending this process's previous replication connection (pid {}), which still holds slot {}",
                        previousReplicationPid, slots.slot());
                try (java.sql.PreparedStatement ps = catalogConnection.prepareStatement("SELECT pg_terminate_backend(?)")) {
                    ps.setInt(1, previousReplicationPid);
                    ps.execute();
                } catch (SQLException e) {
                    LOG.debug("could not end the previous replication connection: {}", e.getMessage());
                }
            }
            slot = awaitSlotRelease(slot);
            if (slot.isPresent() && slot.get().active()) {
                throw new FerryException(ErrorKind.PREREQUISITE, "Replication slot " + slots.slot() + " on "
                        + settings.address() + " is in use by another connection (pid " + slot.get().activePid()
                        + "). Is another Ferry running this pipeline? Stop it first; SELECT active_pid FROM "
                        + "pg_replication_slots WHERE slot_name = '" + slots.slot() + "' shows who holds it.");
            }
            replicationConnection = connections.replication();
            previousReplicationPid = replicationConnection.unwrap(PGConnection.class).getBackendPID();
            if (resume.isEmpty()) {
                if (slot.isPresent() && !startingOver) {
                    throw new FerryException(ErrorKind.PREREQUISITE, "Replication slot " + slots.slot() + " already "
                            + "exists on " + settings.address() + ", but this pipeline's state folder is new. Either the "
                            + "state folder was deleted or moved (restore it to resume exactly where Ferry stopped), or "
                            + "another pipeline uses this slot name (set source.slot). To start over with a fresh "
                            + "snapshot: SELECT pg_drop_replication_slot('" + slots.slot() + "'); delete the sink's "
                            + "output, and run again.");
                }
                if (slot.isPresent() && !exportSnapshot && !slot.get().lost()) {
                    // without a snapshot, the slot this pipeline created already holds every change since
                    // then: stream from it rather than drop it (which would lose them)
                    Long confirmed = slot.get().confirmedFlushLsn();
                    receivedLsn = confirmed == null ? 0 : confirmed;
                    LOG.info("Streaming from replication slot {} created by an earlier start of this pipeline",
                            slots.slot());
                    startStreaming();
                    return;
                }
                if (slot.isPresent()) {
                    LOG.warn("Replication slot {} is left from a run that stopped before its snapshot finished; "
                            + "dropping and recreating it.", slots.slot());
                    slots.drop(catalogConnection);
                }
                SlotManager.CreatedSlot created = slots.create(replicationConnection, exportSnapshot);
                receivedLsn = created.consistentPoint();
                LOG.info("Created replication slot {} at {} and publication {} for {} tables", slots.slot(),
                        PgPosition.formatLsn(created.consistentPoint()), slots.publication(), ids.size());
                if (exportSnapshot) {
                    if (!settings.initialSnapshot()) {
                        LOG.info("Tables without a key {} are copied first, in one transaction (chunks are read by "
                                + "key); the others in chunks once streaming", keyless);
                    }
                    snapshot = TableCopy.initial(connections.regular(), created.snapshotName(),
                            created.consistentPoint(), settings.initialSnapshot() ? ids : keyless);
                    snapshot.begin();
                } else {
                    startStreaming();
                }
            } else {
                if (slot.isEmpty()) {
                    throw new FerryException(ErrorKind.PREREQUISITE, "Replication slot " + slots.slot() + " does not "
                            + "exist on " + settings.address() + ", but Ferry's Log is at " + resume.get().display()
                            + ": the slot was dropped, so changes since then are lost to Ferry. To start over with a "
                            + "fresh snapshot, delete the pipeline's state folder and its sink output, then run again.");
                }
                if (slot.get().lost()) {
                    throw lostSlot(resume.get());
                }
                resumeAfter = (PgPosition) resume.get();
                PgPosition r = resumeAfter;
                Long confirmed = slot.get().confirmedFlushLsn();
                if (confirmed != null && Long.compareUnsigned(confirmed, r.lsn()) > 0) {
                    throw new FerryException(ErrorKind.PREREQUISITE, "Replication slot " + slots.slot() + " has confirmed "
                            + "changes up to " + PgPosition.formatLsn(confirmed) + ", beyond the last position in Ferry's "
                            + "Log (" + r.display() + "): the state folder was restored from an older copy, and the "
                            + "changes in between cannot be read again. Restore the newest state folder, or start over "
                            + "with a fresh snapshot: SELECT pg_drop_replication_slot('" + slots.slot() + "'); delete "
                            + "the state folder and the sink's output, and run again.");
                }
                receivedLsn = maxLsn(slot.get().confirmedFlushLsn() == null ? 0 : slot.get().confirmedFlushLsn(), r.lsn());
                reached = r;
                flushLsn = r.lsn();
                // only once the slot is known to be this pipeline's and free: tables created or listed since
                publication.addMissing(catalogConnection, tables);
                startStreaming();
            }
        } catch (SQLException e) {
            throw classifyRuntime(e);
        }
    }

    /**
     * A slot still held by a connection that died (a killed process, a lost network) is released by
     * the server when it notices, at the latest after wal_sender_timeout: wait for that, briefly.
     */
    private Optional<SlotManager.SlotState> awaitSlotRelease(Optional<SlotManager.SlotState> slot)
            throws SQLException, FerryException {
        long deadline = System.currentTimeMillis() + SLOT_RELEASE_WAIT_MILLIS;
        long nextLog = 0;
        while (slot.isPresent() && slot.get().active() && System.currentTimeMillis() < deadline && !stopping) {
            if (System.currentTimeMillis() >= nextLog) {
                LOG.info("Replication slot {} is still held by pid {}; waiting for the server to release it",
                        slots.slot(), slot.get().activePid());
                nextLog = System.currentTimeMillis() + 10_000;
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            slot = slots.find(catalogConnection);
        }
        return slot;
    }

    private void ensureCatalog() throws FerryException {
        if (catalogConnection == null) {
            catalogConnection = connections.regular();
            catalog = new Catalog(catalogConnection);
        }
    }

    /** Protocol 2 streams transactions before their commit (PostgreSQL 14+), spilled on Ferry's side. */
    private boolean streamsInProgress() {
        return settings.streamInProgress() && serverVersion >= 140000;
    }

    /** Chunked snapshots write their watermarks as logical decoding messages: PostgreSQL 14+. */
    private void requireChunkedSnapshots() throws FerryException {
        if (!TableAdditions.supported(serverVersion)) {
            throw new FerryException(ErrorKind.PREREQUISITE, "Chunked snapshots (snapshot: chunked, ferry snapshot) need "
                    + "PostgreSQL 14 or newer, for logical decoding messages in pgoutput; " + settings.address()
                    + " runs " + serverVersion + ". Use snapshot: initial.");
        }
    }

    /** The tables without a key to read chunks by (no primary key, no replica identity index). */
    private List<TableId> keyless(List<Catalog.TableInfo> tables) throws SQLException {
        List<TableId> out = new java.util.ArrayList<>();
        for (Catalog.TableInfo t : tables) {
            if (catalog.keyInIndexOrder(t.id()).isEmpty()) {
                out.add(t.id());
            }
        }
        return out;
    }

    private void startStreaming() throws SQLException {
        StreamedTransactions streamed = streamsInProgress() ? new StreamedTransactions(workFolder.resolve("spill")) : null;
        changes = ChangeStream.open(replicationConnection, slots, catalog, additions, snapshots, streamed,
                TableAdditions.supported(serverVersion), resumeAfter, reached, receivedLsn, flushLsn);
    }

    @Override
    public SourceBatch poll(Duration maxWait) throws FerryException, InterruptedException {
        if (stoppedAt != null) {
            return new SourceBatch(List.of(), stoppedAt);
        }
        try {
            SourceBatch batch;
            if (snapshot != null) {
                batch = pollSnapshot();
            } else {
                if (TableAdditions.supported(serverVersion) && !changes.inTransaction()) {
                    additions.discover(catalog, catalogConnection);
                }
                ChangeStream.Idle idle = TableAdditions.supported(serverVersion) ? snapshots : ChangeStream.Idle.NONE;
                idle.run();
                batch = changes.poll(maxWait, () -> stopping, idle);
            }
            lastReturned = batch.position();
            return batch;
        } catch (SQLException e) {
            if (stopping && lastReturned != null) {
                // events decoded in this poll are lost with the exception: report only what was returned,
                // now and in every later poll, and record no chunk beyond it
                stoppedAt = lastReturned;
                if (snapshots != null) {
                    snapshots.forgetBeyond((PgPosition) lastReturned);
                }
                return new SourceBatch(List.of(), lastReturned);
            }
            throw classifyRuntime(e);
        } catch (java.io.UncheckedIOException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Cannot write to the work folder " + workFolder + ": "
                    + e.getMessage() + ". Free disk space there (for large transactions, stream_in_progress: false has "
                    + "the server spill instead), then run again; nothing is lost.", e);
        } catch (IllegalStateException e) {
            throw new FerryException(ErrorKind.INTERNAL, "PostgreSQL's change stream from " + settings.address()
                    + " was not as expected: " + e.getMessage() + ". Ferry stopped rather than guess; run again to "
                    + "resume from the last position in its Log.", e);
        }
    }

    private SourceBatch pollSnapshot() throws SQLException {
        List<ChangeEvent> events = snapshot.next(ChangeStream.MAX_BATCH, ChangeStream.MAX_BATCH_BYTES);
        if (!events.isEmpty()) {
            return new SourceBatch(events, events.get(events.size() - 1).position());
        }
        snapshot.finish();
        LOG.info("Snapshot finished: {} rows from {} tables", String.format("%,d", snapshot.rows()), snapshot.tableCount());
        long consistent = snapshot.consistentPoint();
        reached = PgPosition.at(consistent);
        startStreaming();
        snapshot = null;
        return new SourceBatch(List.of(), reached);
    }

    @Override
    public boolean caughtUp(Position end) {
        // tables being added count as not caught up: a batch run waits for their rows
        return snapshot == null && changes != null && !additions.outstanding() && snapshots.idle()
                && changes.caughtUp(((PgPosition) end).lsn());
    }

    @Override
    public void acknowledge(Position durable) throws FerryException {
        long lsn = ((PgPosition) durable).lsn();
        if (snapshots != null) {
            snapshots.durable((PgPosition) durable); // recorded before the server may forget the watermarks
        }
        if (changes == null) {
            // during the snapshot; confirmed when streaming starts
            flushLsn = Long.compareUnsigned(lsn, flushLsn) > 0 ? lsn : flushLsn;
            return;
        }
        try {
            changes.acknowledge(lsn);
        } catch (SQLException e) {
            throw classifyRuntime(e);
        }
    }

    @Override
    public void keepAlive() throws FerryException {
        if (changes == null) {
            return;
        }
        try {
            changes.keepAlive();
        } catch (SQLException e) {
            throw classifyRuntime(e);
        }
    }

    /** Tests: how many of the change stream's waits for bytes ended with none. */
    long emptyWaits() {
        return changes == null ? 0 : changes.emptyWaits();
    }

    @Override
    public void stop() {
        stopping = true;
    }

    @Override
    public void close() {
        if (changes != null) {
            changes.close();
        }
        if (snapshot != null) {
            snapshot.close();
        }
        additions.close();
        if (snapshots != null) {
            snapshots.close();
        }
        PostgresConnections.close(replicationConnection);
        PostgresConnections.close(catalogConnection);
        // a closed source may be started again (the pipeline reconnects after a lost connection)
        changes = null;
        snapshots = null;
        snapshot = null;
        replicationConnection = null;
        catalogConnection = null;
        catalog = null;
        reached = null;
        lastReturned = null;
        stoppedAt = null;
        resumeAfter = null;
        flushLsn = 0;
        receivedLsn = 0;
    }

    private FerryException lostSlot(Position logged) {
        return new FerryException(ErrorKind.PREREQUISITE, "Replication slot " + slots.slot() + " on " + settings.address()
                + " was invalidated by the server: it fell further behind than max_slot_wal_keep_size allows, and the "
                + "WAL after Ferry's last position (" + logged.display() + ") is gone. Changes since then cannot be "
                + "read again. Recover with a fresh snapshot: SELECT pg_drop_replication_slot('" + slots.slot() + "'); "
                + "delete the pipeline's state folder and its sink output, and run again. To keep this from "
                + "happening, raise max_slot_wal_keep_size or keep the pipeline running.");
    }

    /** LSNs are unsigned 64-bit numbers. */
    private static long maxLsn(long a, long b) {
        return Long.compareUnsigned(a, b) >= 0 ? a : b;
    }

    /**
     * Classifies a failure while running: a lost connection or a server shutting down or starting is
     * CONNECTIVITY (the pipeline reconnects); any other server error is not retried.
     */
    private FerryException classifyRuntime(SQLException e) {
        String text = e.getMessage() == null ? "" : e.getMessage();
        if (text.contains("can no longer get changes from replication slot")) {
            return lostSlot(lastReturned != null ? lastReturned
                    : PgPosition.at(changes != null ? changes.receivedLsn() : receivedLsn));
        }
        FerryException f = connections.classify(e, true);
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        // 57P01-03: the server shuts down, crashed, or is starting; 57P04 (database dropped) is final
        boolean lost = state.startsWith("08") || (state.startsWith("57P") && !state.equals("57P04")) || causedByIo(e);
        if (f.kind() == ErrorKind.CONNECTIVITY && !lost) {
            return new FerryException(ErrorKind.INTERNAL, "PostgreSQL at " + settings.address() + " failed: "
                    + e.getMessage() + " (SQLSTATE " + state + ").", e);
        }
        if (lost && f.kind() != ErrorKind.CONNECTIVITY) {
            return new FerryException(ErrorKind.CONNECTIVITY, "Lost the connection to PostgreSQL at "
                    + settings.address() + ": " + e.getMessage(), e);
        }
        return f;
    }

    private static boolean causedByIo(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof java.io.IOException) {
                return true;
            }
        }
        return false;
    }
}
