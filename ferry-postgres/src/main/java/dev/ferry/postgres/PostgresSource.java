package dev.ferry.postgres;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.postgres.pgoutput.PgOutputDecoder;
import dev.ferry.postgres.pgoutput.PgOutputMessage;
import dev.ferry.source.Check;
import dev.ferry.source.Position;
import dev.ferry.source.Source;
import dev.ferry.source.SourceBatch;
import dev.ferry.source.SourceInfo;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
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
 *   <li>Positions are (commit LSN, index in transaction); see {@link PgPosition}. A restart streams
 *       again from the slot's confirmed flush LSN and drops every event at or before the Log's last
 *       position, so a transaction cut in half by a crash is not duplicated.</li>
 *   <li>The confirmed flush LSN sent to the server is the LSN of the acknowledged position: the
 *       commit LSN of the transaction in progress (the server then resends that transaction whole on
 *       restart, and the duplicates are dropped), or the server's WAL end when the stream is quiet.</li>
 *   <li>Memory: a poll returns at most {@link #MAX_BATCH} events; large transactions and large
 *       tables stream through in pieces.</li>
 * </ul>
 */
public final class PostgresSource implements Source {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresSource.class);
    static final int MAX_BATCH = 4096;
    /** A poll also stops once it has read this many bytes of messages or rows. */
    static final long MAX_BATCH_BYTES = 16L * 1024 * 1024;
    private static final long FORCE_STATUS_MILLIS = 1000;
    /** Longer than the default wal_sender_timeout (60 s), after which the server drops a dead walsender. */
    private static final long SLOT_RELEASE_WAIT_MILLIS = 75_000;

    private final String pipelineName;
    private final ConnectionSettings settings;
    private final PostgresConnections connections;
    private final SlotManager slots;
    private final TableAdditions additions;

    private Connection catalogConnection;
    private Connection replicationConnection;
    private PGReplicationStream stream;
    private Catalog catalog;
    private TableCopy snapshot;
    /** The rows of tables added while streaming, read where their marker arrived. */
    private TableCopy tableCopy;
    private int serverVersion;
    private volatile boolean stopping;

    private Position resumeAfter;
    private final Map<Integer, TableSchema> relations = new HashMap<>();
    private final Map<Integer, String> typeNames = new HashMap<>();
    private boolean inTransaction;
    private long txLsn;
    private long txId;
    private Instant txCommitted;
    private long txIndex;
    private PgPosition lastEmitted;
    private Position lastReturned;
    /** The backend of the replication connection of the previous start, kept across close(). */
    private int previousReplicationPid;
    private long receivedLsn;
    private long flushLsn;
    private long lastForceMillis;

    PostgresSource(String pipelineName, ConnectionSettings settings) {
        this.pipelineName = pipelineName;
        this.settings = settings;
        this.connections = new PostgresConnections(settings);
        this.slots = new SlotManager(settings.slot(), settings.publication());
        this.additions = new TableAdditions(settings, connections, slots);
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
    public Map<String, String> status() throws FerryException {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        try {
            ensureCatalog();
            out.putAll(slots.describe(catalogConnection));
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
            if (resume.isEmpty()) {
                tables = withoutUnpublishable(tables);
            }
            List<TableId> ids = tables.stream().map(Catalog.TableInfo::id).toList();
            if (resume.isEmpty()) {
                try {
                    slots.ensurePublication(catalogConnection, ids, version);
                } catch (SQLException e) {
                    if (!"42501".equals(e.getSQLState()) && !String.valueOf(e.getMessage()).contains("must be owner")) {
                        throw e;
                    }
                    throw new FerryException(ErrorKind.PREREQUISITE, "User " + settings.user() + " may not create or "
                            + "extend publication " + slots.publication() + " on " + settings.address() + " ("
                            + e.getMessage() + "). Ask the tables' owner or an administrator to run: "
                            + publicationStatement(ids, version) + " - Ferry then only needs LOGIN, REPLICATION and "
                            + "SELECT on the tables.", e);
                }
            } else {
                addMissingTables(tables);
            }
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
                if (slot.isPresent() && !settings.initialSnapshot() && !slot.get().lost()) {
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
                SlotManager.CreatedSlot created = slots.create(replicationConnection, settings.initialSnapshot());
                receivedLsn = created.consistentPoint();
                LOG.info("Created replication slot {} at {} and publication {} for {} tables", slots.slot(),
                        PgPosition.formatLsn(created.consistentPoint()), slots.publication(), ids.size());
                if (settings.initialSnapshot()) {
                    snapshot = TableCopy.initial(connections.regular(), created.snapshotName(),
                            created.consistentPoint(), ids);
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
                resumeAfter = resume.get();
                PgPosition r = (PgPosition) resumeAfter;
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
                lastEmitted = r;
                flushLsn = r.lsn();
                startStreaming();
            }
        } catch (SQLException e) {
            throw classifyRuntime(e);
        }
    }

    /**
     * Leaves out tables whose updates and deletes would fail on the source once published (no primary
     * key, no replica identity), unless they are published already. A table named in {@code tables:}
     * that cannot be published is an error; one matched by a pattern (or "every table") a warning.
     */
    private List<Catalog.TableInfo> withoutUnpublishable(List<Catalog.TableInfo> tables)
            throws SQLException, FerryException {
        Set<TableId> published = slots.publishedTables(catalogConnection).orElse(Set.of());
        List<Catalog.TableInfo> out = new ArrayList<>();
        List<String> named = new ArrayList<>();
        for (Catalog.TableInfo t : tables) {
            String fix = "ALTER TABLE " + PostgresConnections.quoteIdent(t.id().schema()) + "."
                    + PostgresConnections.quoteIdent(t.id().name()) + " REPLICA IDENTITY FULL;";
            if (t.publishable() || published.contains(t.id())) {
                out.add(t);
            } else if (settings.tables().names().contains(t.id())) {
                named.add(t.id() + " (" + fix + ")");
            } else {
                LOG.warn("Not capturing table {}: it has no primary key and no replica identity, so publishing it "
                        + "would make its UPDATEs and DELETEs fail on the source. Add a primary key or run {} - "
                        + "Ferry then adds it while streaming.", t.id(), fix);
            }
        }
        if (!named.isEmpty()) {
            throw new FerryException(ErrorKind.PREREQUISITE, settings.tablesWhere() + " names tables without a primary "
                    + "key or replica identity: " + String.join(", ", named) + ". Once in a publication, their UPDATEs "
                    + "and DELETEs would fail on the source. Add a primary key, set the replica identity as shown, or "
                    + "remove them from the list.");
        }
        return out;
    }

    /**
     * On a restart, the publication must still exist; captured tables it lacks (created since, or
     * added to {@code tables:}) are added with their rows (see {@link TableAdditions}).
     */
    private void addMissingTables(List<Catalog.TableInfo> tables) throws SQLException, FerryException {
        Optional<Set<TableId>> published = slots.publishedTables(catalogConnection);
        if (published.isEmpty()) {
            throw new FerryException(ErrorKind.PREREQUISITE, "Publication " + slots.publication() + " no longer exists on "
                    + settings.address() + ", so the slot cannot stream. Recreate it (CREATE PUBLICATION "
                    + PostgresConnections.quoteIdent(slots.publication()) + " FOR TABLE ...;) with the tables this "
                    + "pipeline captures, or start the pipeline over.");
        }
        List<Catalog.TableInfo> missing = tables.stream().filter(t -> !published.get().contains(t.id())).toList();
        if (missing.isEmpty()) {
            return;
        }
        if (!TableAdditions.supported(serverVersion)) {
            LOG.warn("Tables {} are not in publication {} and are not captured: adding tables to a running pipeline "
                    + "needs PostgreSQL 14 or newer. Capture them with a new pipeline.", missing.stream()
                    .map(Catalog.TableInfo::id).toList(), slots.publication());
            return;
        }
        additions.add(missing);
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

    private void startStreaming() throws SQLException {
        stream = replicationConnection.unwrap(PGConnection.class).getReplicationAPI().replicationStream().logical()
                .withSlotName(slots.slot())
                .withStartPosition(LogSequenceNumber.INVALID_LSN)
                .withSlotOption("proto_version", "1")
                .withSlotOption("publication_names", slots.publication())
                // logical decoding messages carry the markers of tables added while streaming
                .withSlotOption("messages", String.valueOf(TableAdditions.supported(serverVersion)))
                .withStatusInterval(10, TimeUnit.SECONDS)
                .withAutomaticFlush(false)
                .start();
        if (flushLsn > 0) {
            stream.setFlushedLSN(LogSequenceNumber.valueOf(flushLsn));
            stream.setAppliedLSN(LogSequenceNumber.valueOf(flushLsn));
        }
        LOG.info("Streaming changes from slot {} (publication {})", slots.slot(), slots.publication());
    }

    @Override
    public SourceBatch poll(Duration maxWait) throws FerryException, InterruptedException {
        try {
            SourceBatch batch = snapshot != null ? pollSnapshot() : tableCopy != null ? pollCopy() : pollStream(maxWait);
            lastReturned = batch.position();
            return batch;
        } catch (SQLException e) {
            if (stopping && lastReturned != null) {
                // events decoded in this poll are lost with the exception: report only what was returned
                return new SourceBatch(List.of(), lastReturned);
            }
            throw classifyRuntime(e);
        }
    }

    private SourceBatch pollSnapshot() throws SQLException {
        List<ChangeEvent> events = snapshot.next(MAX_BATCH, MAX_BATCH_BYTES);
        if (!events.isEmpty()) {
            return new SourceBatch(events, events.get(events.size() - 1).position());
        }
        snapshot.finish();
        LOG.info("Snapshot finished: {} rows from {} tables", String.format("%,d", snapshot.rows()), snapshot.tableCount());
        long consistent = snapshot.consistentPoint();
        snapshot = null;
        startStreaming();
        lastEmitted = PgPosition.at(consistent);
        return new SourceBatch(List.of(), lastEmitted);
    }

    /** The next rows of tables added while streaming; then the stream goes on after their marker. */
    private SourceBatch pollCopy() throws SQLException {
        dev.ferry.log.CrashPoints.reach("postgres.table-copy"); // tests: die in the middle of a copy
        List<ChangeEvent> events = tableCopy.next(MAX_BATCH, MAX_BATCH_BYTES);
        if (System.currentTimeMillis() - lastForceMillis >= FORCE_STATUS_MILLIS) {
            // the stream is not read during the copy: keep the server from taking the client for dead
            lastForceMillis = System.currentTimeMillis();
            stream.forceUpdateStatus();
        }
        if (!events.isEmpty()) {
            lastEmitted = (PgPosition) events.get(events.size() - 1).position();
            txIndex = lastEmitted.index() + 1;
            return new SourceBatch(events, lastEmitted);
        }
        tableCopy.finish();
        LOG.info("Copied {} rows of {}, added while streaming", String.format("%,d", tableCopy.rows()),
                tableCopy.tables());
        tableCopy = null;
        return new SourceBatch(List.of(), position());
    }

    private SourceBatch pollStream(Duration maxWait) throws SQLException, InterruptedException, FerryException {
        if (!inTransaction && TableAdditions.supported(serverVersion)) {
            additions.discover(catalog, catalogConnection);
        }
        List<ChangeEvent> events = new ArrayList<>();
        long deadline = System.nanoTime() + maxWait.toNanos();
        long sleepMillis = 1;
        long bytes = 0;
        while (events.size() < MAX_BATCH && bytes < MAX_BATCH_BYTES && !stopping && tableCopy == null) {
            ByteBuffer buf = stream == null ? null : stream.readPending();
            if (buf == null) {
                if (stream != null && System.currentTimeMillis() - lastForceMillis >= FORCE_STATUS_MILLIS) {
                    // readPending never notices a connection the server closed (it only sees "no data"):
                    // a status update is written to the socket, and that write fails on a dead one
                    lastForceMillis = System.currentTimeMillis();
                    stream.forceUpdateStatus();
                }
                if (!events.isEmpty() || System.nanoTime() >= deadline) {
                    break;
                }
                Thread.sleep(sleepMillis);
                sleepMillis = Math.min(sleepMillis * 2, 20);
                continue;
            }
            sleepMillis = 1;
            bytes += buf.remaining();
            handle(PgOutputDecoder.decode(buf), events);
        }
        if (stream != null) {
            receivedLsn = maxLsn(receivedLsn, stream.getLastReceiveLSN().asLong());
        }
        return new SourceBatch(events, position());
    }

    /** The position reached: the last event, or the server's WAL end while no transaction is open. */
    private PgPosition position() {
        PgPosition p = lastEmitted;
        if (!inTransaction && snapshot == null) {
            PgPosition quiet = PgPosition.at(receivedLsn);
            if (p == null || quiet.compareTo(p) > 0) {
                p = quiet;
            }
        }
        return p == null ? PgPosition.at(receivedLsn) : p;
    }

    private void handle(PgOutputMessage message, List<ChangeEvent> out) throws SQLException, FerryException {
        if (message instanceof PgOutputMessage.Begin b) {
            inTransaction = true;
            txLsn = b.finalLsn();
            txId = b.xid();
            txCommitted = PgEpoch.toInstant(b.commitMicros());
            txIndex = 0;
        } else if (message instanceof PgOutputMessage.Commit c) {
            inTransaction = false;
            receivedLsn = maxLsn(receivedLsn, c.commitLsn());
        } else if (message instanceof PgOutputMessage.Relation r) {
            relations.put(r.id(), RelationSchemas.of(r, typeNames, catalog));
        } else if (message instanceof PgOutputMessage.Type t) {
            typeNames.put(t.oid(), t.namespace() + "." + t.name());
        } else if (message instanceof PgOutputMessage.Insert i) {
            emit(Op.CREATE, i.relationId(), null, i.after(), out);
        } else if (message instanceof PgOutputMessage.Update u) {
            emit(Op.UPDATE, u.relationId(), u.before(), u.after(), out);
        } else if (message instanceof PgOutputMessage.Delete d) {
            emit(Op.DELETE, d.relationId(), d.before(), null, out);
        } else if (message instanceof PgOutputMessage.Truncate t) {
            for (int id : t.relationIds()) {
                emit(Op.TRUNCATE, id, null, null, out);
            }
        } else if (message instanceof PgOutputMessage.LogicalMessage m && m.transactional()
                && m.prefix().equals(additions.prefix())) {
            Optional<TableAdditions.Marker> marker = TableAdditions.Marker.parse(m.content());
            if (marker.isEmpty() || (resumeAfter != null
                    && Long.compareUnsigned(txLsn, ((PgPosition) resumeAfter).lsn()) < 0)) {
                return; // the Log is past this transaction: the copy was read before the restart
            }
            Optional<TableCopy> copy = additions.arrived(marker.get(), catalog);
            if (copy.isPresent()) {
                tableCopy = copy.get();
                tableCopy.placeIn(txLsn, txIndex, txId, txCommitted);
            }
        }
        // origin and logical decoding messages carry nothing Ferry delivers
    }

    private void emit(Op op, int relationId, PgOutputMessage.Tuple before, PgOutputMessage.Tuple after,
                      List<ChangeEvent> out) {
        TableSchema schema = relations.get(relationId);
        if (schema == null) {
            throw new IllegalStateException("pgoutput sent a change for relation " + relationId + " before describing it");
        }
        PgPosition position = new PgPosition(txLsn, false, txIndex++);
        lastEmitted = position;
        if (resumeAfter != null && position.compareTo(resumeAfter) <= 0) {
            return; // already in the Log before the restart
        }
        Set<String> unchanged = new HashSet<>();
        Row beforeRow = before == null ? null : RelationSchemas.row(schema, before, null);
        Row afterRow = after == null ? null : RelationSchemas.row(schema, after, unchanged);
        out.add(new ChangeEvent(op, schema, beforeRow, afterRow, unchanged, position, txId, txCommitted));
    }

    @Override
    public boolean caughtUp(Position end) {
        // tables being added count as not caught up: a batch run waits for their rows
        return snapshot == null && tableCopy == null && !additions.outstanding() && stream != null && !inTransaction
                && Long.compareUnsigned(receivedLsn, ((PgPosition) end).lsn()) >= 0;
    }

    @Override
    public void acknowledge(Position durable) throws FerryException {
        long lsn = ((PgPosition) durable).lsn();
        if (Long.compareUnsigned(lsn, flushLsn) <= 0) {
            return;
        }
        flushLsn = lsn;
        if (stream == null) {
            return; // during the snapshot; applied when streaming starts
        }
        stream.setFlushedLSN(LogSequenceNumber.valueOf(lsn));
        stream.setAppliedLSN(LogSequenceNumber.valueOf(lsn));
        long now = System.currentTimeMillis();
        if (now - lastForceMillis >= FORCE_STATUS_MILLIS) {
            lastForceMillis = now;
            try {
                stream.forceUpdateStatus();
            } catch (SQLException e) {
                throw classifyRuntime(e);
            }
        }
    }

    @Override
    public void keepAlive() throws FerryException {
        if (stream == null || System.currentTimeMillis() - lastForceMillis < FORCE_STATUS_MILLIS) {
            return;
        }
        lastForceMillis = System.currentTimeMillis();
        try {
            stream.forceUpdateStatus();
        } catch (SQLException e) {
            throw classifyRuntime(e);
        }
    }

    @Override
    public void stop() {
        stopping = true;
    }

    @Override
    public void close() {
        if (stream != null && !stream.isClosed()) {
            try {
                stream.forceUpdateStatus(); // tell the server the final flush position
            } catch (SQLException e) {
                LOG.debug("final status update failed", e);
            }
        }
        if (snapshot != null) {
            snapshot.close();
        }
        if (tableCopy != null) {
            tableCopy.close();
        }
        additions.close();
        PostgresConnections.close(stream);
        PostgresConnections.close(replicationConnection);
        PostgresConnections.close(catalogConnection);
        // a closed source may be started again (the pipeline reconnects after a lost connection)
        stream = null;
        snapshot = null;
        tableCopy = null;
        replicationConnection = null;
        catalogConnection = null;
        catalog = null;
        inTransaction = false;
        lastEmitted = null;
        lastReturned = null;
        resumeAfter = null;
        flushLsn = 0;
        receivedLsn = 0;
        relations.clear();
    }

    private FerryException lostSlot(Position logged) {
        return new FerryException(ErrorKind.PREREQUISITE, "Replication slot " + slots.slot() + " on " + settings.address()
                + " was invalidated by the server: it fell further behind than max_slot_wal_keep_size allows, and the "
                + "WAL after Ferry's last position (" + logged.display() + ") is gone. Changes since then cannot be "
                + "read again. Recover with a fresh snapshot: SELECT pg_drop_replication_slot('" + slots.slot() + "'); "
                + "delete the pipeline's state folder and its sink output, and run again. To keep this from "
                + "happening, raise max_slot_wal_keep_size or keep the pipeline running.");
    }

    private String publicationStatement(List<TableId> ids, int version) {
        return "CREATE PUBLICATION " + PostgresConnections.quoteIdent(slots.publication()) + " FOR TABLE "
                + ids.stream().map(t -> PostgresConnections.quoteIdent(t.schema()) + "." + PostgresConnections.quoteIdent(t.name()))
                .collect(java.util.stream.Collectors.joining(", "))
                + (version >= 130000 ? " WITH (publish_via_partition_root = true)" : "") + ";";
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
            return lostSlot(lastReturned != null ? lastReturned : PgPosition.at(receivedLsn));
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
