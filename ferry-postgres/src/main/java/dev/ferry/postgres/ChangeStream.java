package dev.ferry.postgres;

import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableSchema;
import dev.ferry.log.CrashPoints;
import dev.ferry.postgres.pgoutput.PgOutputDecoder;
import dev.ferry.postgres.pgoutput.PgOutputMessage;
import dev.ferry.source.SourceBatch;
import java.io.IOException;
import java.net.Socket;
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
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.postgresql.replication.fluent.logical.ChainedLogicalStreamBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The change stream of a started slot: pgoutput messages from the replication connection, turned
 * into events in commit order with their positions.
 *
 * <ul>
 *   <li>Positions are (commit LSN, index in transaction); see {@link PgPosition}. After a restart the
 *       server sends again from the slot's confirmed flush LSN, and every event at or before
 *       {@code resumeAfter} (the Log's last position) is dropped, so a transaction cut in half by a
 *       crash is not duplicated.</li>
 *   <li>The confirmed flush LSN sent to the server is the LSN of the acknowledged position: the
 *       commit LSN of the transaction in progress (the server then resends it whole on restart, and
 *       the duplicates are dropped), or the server's WAL end when the stream is quiet.</li>
 *   <li>Transactions streamed before their commit (protocol 2) are spilled by
 *       {@link StreamedTransactions} and read back at their Stream Commit, between a Begin and a
 *       Commit of their own, like any other transaction.</li>
 *   <li>A marker of {@link TableAdditions} switches to reading the added tables' rows, placed in the
 *       marker's transaction, before the stream goes on.</li>
 *   <li>Memory: a poll returns at most {@link #MAX_BATCH} events or about {@link #MAX_BATCH_BYTES}.</li>
 * </ul>
 */
final class ChangeStream implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChangeStream.class);
    static final int MAX_BATCH = 4096;
    /** A poll also stops once it has read this many bytes of messages or rows. */
    static final long MAX_BATCH_BYTES = 16L * 1024 * 1024;
    private static final long FORCE_STATUS_MILLIS = 1000;

    private final PGReplicationStream stream;
    private final Catalog catalog;
    private final TableAdditions additions;
    private final ChunkedSnapshots snapshots;
    /** Null on protocol 1. */
    private final StreamedTransactions streamed;
    /** The Log's last position at the start, or null on a first run. */
    private final PgPosition resumeAfter;

    private final Map<Integer, TableSchema> relations = new HashMap<>();
    private final Map<Integer, String> typeNames = new HashMap<>();
    /** Builds the rows of changes, on the capture thread. */
    private final dev.ferry.event.RowEncoder rows = new dev.ferry.event.RowEncoder();
    private boolean inTransaction;
    private long txLsn;
    private long txId;
    private Instant txCommitted;
    private long txIndex;
    private PgPosition lastEmitted;
    private long receivedLsn;
    private long flushLsn;
    private long lastForceMillis;
    /** The replication connection's socket, asked whether bytes arrived; null when unknown. */
    private Socket socket;
    private long lastBytesNanos = System.nanoTime();
    /** Waits for the server's bytes that ended with none there (tests: the stream waits without polling). */
    private long emptyWaits;
    /** The transaction of the stream block being received, or -1 outside one. */
    private long streamBlockXid = -1;
    /** A committed streamed transaction being read back, and the commit to close it with. */
    private StreamedTransactions.Replay replay;
    private PgOutputMessage.Commit replayCommit;
    /** The rows of tables added while streaming, read where their marker arrived. */
    private TableCopy tableCopy;

    private ChangeStream(PGReplicationStream stream, Catalog catalog, TableAdditions additions,
                         ChunkedSnapshots snapshots, StreamedTransactions streamed, PgPosition resumeAfter) {
        this.stream = stream;
        this.catalog = catalog;
        this.additions = additions;
        this.snapshots = snapshots;
        this.streamed = streamed;
        this.resumeAfter = resumeAfter;
    }

    /**
     * Starts streaming from the slot.
     *
     * @param streamed     where transactions in progress are spilled (PostgreSQL 14+); null for protocol 1
     * @param messages     PostgreSQL 14+: ask for logical decoding messages, and say whether to stream
     * @param resumeAfter  the Log's last position, or null
     * @param reached      the position reached so far (the consistent point after a snapshot), or null
     * @param receivedLsn  the WAL position known to be reached: the slot's confirmed or consistent point
     * @param flushLsn     what the Log holds durably, to confirm to the server; 0 for nothing yet
     */
    static ChangeStream open(Connection replication, SlotManager slots, Catalog catalog, TableAdditions additions,
                             ChunkedSnapshots snapshots, StreamedTransactions streamed, boolean messages,
                             PgPosition resumeAfter,
                             PgPosition reached, long receivedLsn, long flushLsn) throws SQLException {
        ChainedLogicalStreamBuilder builder = replication.unwrap(PGConnection.class).getReplicationAPI()
                .replicationStream().logical()
                .withSlotName(slots.slot())
                .withStartPosition(LogSequenceNumber.INVALID_LSN)
                .withSlotOption("proto_version", streamed != null ? "2" : "1")
                .withSlotOption("publication_names", slots.publication())
                .withStatusInterval(10, TimeUnit.SECONDS)
                .withAutomaticFlush(false);
        if (messages) {
            // PostgreSQL 14+ (older servers reject options they do not know): logical decoding messages
            // carry the markers of tables added while streaming
            builder.withSlotOption("messages", "true").withSlotOption("streaming", streamed != null ? "on" : "off");
        }
        PGReplicationStream stream = builder.start();
        ChangeStream changes = new ChangeStream(stream, catalog, additions, snapshots, streamed, resumeAfter);
        changes.socket = ObservedSockets.of(replication);
        changes.lastEmitted = reached;
        changes.receivedLsn = receivedLsn;
        changes.flushLsn = flushLsn;
        if (flushLsn > 0) {
            stream.setFlushedLSN(LogSequenceNumber.valueOf(flushLsn));
            stream.setAppliedLSN(LogSequenceNumber.valueOf(flushLsn));
        }
        LOG.info("Streaming changes from slot {} (publication {}, pgoutput protocol {})", slots.slot(),
                slots.publication(), streamed != null ? 2 : 1);
        return changes;
    }

    /** The next events: rows of added tables, a spilled transaction read back, or the network's. */
    SourceBatch poll(Duration maxWait, BooleanSupplier stopping, Idle idle)
            throws SQLException, InterruptedException, FerryException {
        return tableCopy != null ? pollCopy() : pollStream(maxWait, stopping, idle);
    }

    /** Work for the capture thread while the stream has nothing to read (chunks of a snapshot to read ahead). */
    interface Idle {
        /** Nothing to do while the stream is quiet. */
        Idle NONE = new Idle() {
            @Override
            public void run() {
            }

            @Override
            public boolean pending() {
                return false;
            }
        };

        void run() throws SQLException, FerryException;

        /**
         * Whether {@link #run} has work in hand (chunks to hand out, readers' results to take): the wait
         * then wakes at its pace. Without, the wait lasts until the server's bytes or the deadline.
         */
        boolean pending();
    }

    /** The next rows of tables added while streaming; then the stream goes on after their marker. */
    private SourceBatch pollCopy() throws SQLException {
        CrashPoints.reach("postgres.table-copy"); // tests: die in the middle of a copy
        List<ChangeEvent> events = tableCopy.next(MAX_BATCH, MAX_BATCH_BYTES);
        keepAlive(); // the stream is not read during the copy: the server must not take Ferry for dead
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

    private SourceBatch pollStream(Duration maxWait, BooleanSupplier stopping, Idle idle)
            throws SQLException, InterruptedException, FerryException {
        if (replay != null) {
            CrashPoints.reach("postgres.streamed-replay"); // tests: die while reading one back
        }
        if (replay != null) {
            keepAlive(); // the network is not read while a streamed transaction is read back
        }
        List<ChangeEvent> events = new ArrayList<>();
        long deadline = System.nanoTime() + maxWait.toNanos();
        long bytes = 0;
        while (events.size() < MAX_BATCH && bytes < MAX_BATCH_BYTES && tableCopy == null
                && !stopping.getAsBoolean()) {
            if (replay != null) {
                ByteBuffer spilled = replay.next();
                if (spilled == null) {
                    endReplay(events);
                    continue;
                }
                bytes += spilled.remaining();
                handle(PgOutputDecoder.decode(spilled, true), events);
                continue;
            }
            ByteBuffer buf = stream.readPending();
            if (buf == null) {
                if (System.currentTimeMillis() - lastForceMillis >= FORCE_STATUS_MILLIS) {
                    // readPending never notices a connection the server closed (it only sees "no data"):
                    // a status update is written to the socket, and that write fails on a dead one
                    lastForceMillis = System.currentTimeMillis();
                    stream.forceUpdateStatus();
                }
                if (!events.isEmpty() || System.nanoTime() >= deadline) {
                    break;
                }
                awaitBytes(deadline, stopping, idle);
                continue;
            }
            lastBytesNanos = System.nanoTime();
            bytes += buf.remaining();
            long changeXid = streamBlockXid >= 0 ? PgOutputDecoder.streamedXid(buf) : -1;
            if (changeXid >= 0) {
                streamed.append(streamBlockXid, changeXid, buf); // read back at its Stream Commit
                continue;
            }
            handle(PgOutputDecoder.decode(buf, streamBlockXid >= 0), events);
        }
        receivedLsn = maxLsn(receivedLsn, stream.getLastReceiveLSN().asLong());
        return new SourceBatch(events, position());
    }

    /**
     * While nothing has arrived: does the idle work and waits for the server's next bytes, up to the
     * deadline. With the connection's socket at hand the wait is in the kernel, woken by the bytes'
     * arrival. While the idle work has something in hand, in steps of a millisecond while changes came
     * within the last second (the idle work's pace), longer the longer the stream has been quiet;
     * otherwise in one wait (no wake-ups, no timed-out reads beside a busy source). Without the
     * socket, a sleep.
     */
    private void awaitBytes(long deadline, BooleanSupplier stopping, Idle idle)
            throws SQLException, InterruptedException, FerryException {
        if (socket == null) {
            idle.run();
            Thread.sleep(1);
            return;
        }
        long quiet = System.nanoTime() - lastBytesNanos;
        long step = quiet < 1_000_000_000L ? 1_000_000L : quiet < 10_000_000_000L ? 2_000_000L : 10_000_000L;
        do {
            idle.run();
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            long left = deadline - System.nanoTime();
            if (bytesArrived(idle.pending() ? Math.min(step, left) : left)) {
                return;
            }
            emptyWaits++;
        } while (System.nanoTime() < deadline && !stopping.getAsBoolean());
    }

    long emptyWaits() {
        return emptyWaits;
    }

    /** Waits up to {@code nanos} for bytes from the server; whether they (or a failure) arrived. */
    private boolean bytesArrived(long nanos) {
        try {
            if (nanos >= 1_000_000L && socket instanceof ObservedSockets.PeekingSocket p) {
                return p.awaitBytes((int) (nanos / 1_000_000L));
            }
            if (socket.getInputStream().available() > 0) {
                return true;
            }
            LockSupport.parkNanos(Math.max(1, nanos));
            return socket.getInputStream().available() > 0;
        } catch (IOException e) {
            return true; // pgjdbc's own read reports the failure, with its classification
        }
    }

    /** The position reached: the last event, or the server's WAL end while no transaction is open. */
    PgPosition position() {
        PgPosition p = lastEmitted;
        if (!inTransaction) {
            PgPosition quiet = PgPosition.at(receivedLsn);
            if (p == null || quiet.compareTo(p) > 0) {
                p = quiet;
            }
        }
        return p == null ? PgPosition.at(receivedLsn) : p;
    }

    /** The end of a streamed transaction's messages: it commits like any other. */
    private void endReplay(List<ChangeEvent> out) throws SQLException, FerryException {
        LOG.debug("Read back streamed transaction {}: {} messages", txId, replay.messages());
        replay.close();
        replay = null;
        handle(replayCommit, out);
        replayCommit = null;
    }

    private void handle(PgOutputMessage message, List<ChangeEvent> out) throws SQLException, FerryException {
        if (message instanceof PgOutputMessage.StreamStart s) {
            streamBlockXid = s.xid();
            streamed.start(s.xid(), s.first());
        } else if (message instanceof PgOutputMessage.StreamStop) {
            streamBlockXid = -1;
        } else if (message instanceof PgOutputMessage.StreamAbort a) {
            streamed.abort(a.xid(), a.subxid());
        } else if (message instanceof PgOutputMessage.StreamCommit c) {
            // read the spilled messages back between a Begin and a Commit of the transaction
            replay = streamed.commit(c.xid());
            replayCommit = new PgOutputMessage.Commit(c.commitLsn(), c.endLsn(), c.commitMicros());
            handle(new PgOutputMessage.Begin(c.commitLsn(), c.commitMicros(), c.xid()), out);
        } else if (message instanceof PgOutputMessage.Begin b) {
            inTransaction = true;
            txLsn = b.finalLsn();
            txId = b.xid();
            txCommitted = PgEpoch.toInstant(b.commitMicros());
            txIndex = 0;
        } else if (message instanceof PgOutputMessage.Commit c) {
            inTransaction = false;
            snapshots.committed(txId);
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
            String content = new String(m.content(), java.nio.charset.StandardCharsets.UTF_8);
            if (content.startsWith("snapshot-")) {
                List<ChangeEvent> reads = snapshots.watermark(content, txLsn, txIndex, txId, txCommitted);
                if (!reads.isEmpty()) {
                    txIndex += reads.size();
                    lastEmitted = (PgPosition) reads.get(reads.size() - 1).position();
                    out.addAll(reads);
                }
                return;
            }
            Optional<TableAdditions.Marker> marker = TableAdditions.Marker.parse(m.content());
            if (marker.isEmpty() || (resumeAfter != null && Long.compareUnsigned(txLsn, resumeAfter.lsn()) < 0)) {
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
        Row beforeRow = before == null ? null : RelationSchemas.row(schema, before, null, rows);
        Row afterRow = after == null ? null : RelationSchemas.row(schema, after, before, unchanged, rows);
        ChangeEvent event = new ChangeEvent(op, schema, beforeRow, afterRow, unchanged, position, txId, txCommitted);
        snapshots.observe(event); // a chunk between its watermarks gives way to the change
        out.add(event);
    }

    /** Whether a transaction is open: its Begin came, its Commit not yet. */
    boolean inTransaction() {
        return inTransaction;
    }

    /** Whether the stream has passed {@code endLsn} with nothing open: no transaction, copy or read-back. */
    boolean caughtUp(long endLsn) {
        return tableCopy == null && replay == null && !inTransaction && Long.compareUnsigned(receivedLsn, endLsn) >= 0;
    }

    /** The WAL position the stream has reached. */
    long receivedLsn() {
        return receivedLsn;
    }

    /** Confirms {@code lsn} to the server as flushed (at most one status message a second). */
    void acknowledge(long lsn) throws SQLException {
        if (Long.compareUnsigned(lsn, flushLsn) <= 0) {
            return;
        }
        flushLsn = lsn;
        stream.setFlushedLSN(LogSequenceNumber.valueOf(lsn));
        stream.setAppliedLSN(LogSequenceNumber.valueOf(lsn));
        keepAlive();
    }

    /** Writes a status update when the last is a second old: the server must not take Ferry for dead. */
    void keepAlive() throws SQLException {
        long now = System.currentTimeMillis();
        if (now - lastForceMillis >= FORCE_STATUS_MILLIS) {
            lastForceMillis = now;
            stream.forceUpdateStatus();
        }
    }

    /** Tells the server the final flush position, and ends the stream, the copy and the spills. */
    @Override
    public void close() {
        if (!stream.isClosed()) {
            try {
                stream.forceUpdateStatus();
            } catch (SQLException e) {
                LOG.debug("final status update failed", e);
            }
        }
        if (tableCopy != null) {
            tableCopy.close();
        }
        if (replay != null) {
            replay.close();
        }
        if (streamed != null) {
            streamed.close();
        }
        PostgresConnections.close(stream);
    }

    /** LSNs are unsigned 64-bit numbers. */
    private static long maxLsn(long a, long b) {
        return Long.compareUnsigned(a, b) >= 0 ? a : b;
    }
}
