package dev.ferry.pipeline;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.log.CrashPoints;
import dev.ferry.log.DiskFullException;
import dev.ferry.log.Log;
import dev.ferry.log.LogEntry;
import dev.ferry.log.LogReader;
import dev.ferry.log.Offset;
import dev.ferry.log.SyncListener;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkSettings;
import dev.ferry.source.Position;
import dev.ferry.source.Source;
import dev.ferry.source.SourceBatch;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs one pipeline: a capture thread moves source batches into the Log, one delivery thread per
 * sink moves Log events into its sink.
 *
 * <p>Design notes: the order of durable steps is the whole correctness argument.
 * <ol>
 *   <li>Capture appends a batch and the position it reaches; {@link Log#append} returns once both
 *       are on disk, and only then is the source acknowledged. So the source never discards a change
 *       the Log does not hold, and a restart resumes after {@link Log#lastPosition()}.</li>
 *   <li>A sink writes events together with its offset; after a crash it resumes after
 *       {@link Sink#committed()}, which it reads from its own target.</li>
 *   <li>Snapshot events are held back from sinks until the snapshot has finished in the Log. A
 *       snapshot interrupted by a crash cannot be continued (its database snapshot died with the
 *       connection), so the Log is reset and the snapshot taken again; because no sink saw any of
 *       it, nothing is duplicated.</li>
 * </ol>
 * Memory is bounded by the batch sizes: a source batch, and per sink one batch plus one Log frame.
 */
public final class Pipeline {
    private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);
    private static final Duration POLL_WAIT = Duration.ofMillis(200);
    /** A batch of the source this large is appended as it is, without waiting for more ({@link #gather}). */
    private static final int GATHER_MAX_EVENTS = 4096;
    /**
     * Nor is one this many bytes (of its rows' values; about a source batch's 16 MiB): gathering holds
     * what it gathers in the heap until it appends, and 4,096 rows of a megabyte are 4 GB.
     */
    private static final long GATHER_MAX_BYTES = 16L * 1024 * 1024;
    /**
     * How long {@link #gather} leaves the source's bytes waiting before it reads them, at the least: a
     * long fsync interval must not hold a fast source back (the socket's buffer would fill and the
     * source wait).
     */
    private static final long GATHER_READ_NANOS = 5_000_000L;
    /**
     * ... and at the most, while reads find little: fewer than {@link #GATHER_FEW_EVENTS} changes and
     * {@link #GATHER_FEW_BYTES} of values. Beside a source that trickles (pgbench's 3,000 changes a
     * second, about 110 in 40 ms) a read every 5 ms was most of capture's CPU, its wake-ups and socket
     * reads. A source held back by an unread buffer shows as many changes per read, whatever their
     * width: MySQL's reader queue holds 1,024 binlog events (about 200 changes), and 128 narrow
     * changes are a few dozen kB of a PostgreSQL socket's buffer (128 kB by default).
     */
    private static final long GATHER_READ_MAX_NANOS = 40_000_000L;
    private static final int GATHER_FEW_EVENTS = 128;
    private static final long GATHER_FEW_BYTES = 64 * 1024;
    /** How long gathering waits between reads now: doubled after a read that found little, else the least. */
    private long gatherReadNanos = GATHER_READ_NANOS;
    private static final long IDLE_POSITION_MILLIS = 1000;

    private final String name;
    private final Source source;
    final Log log;
    private final List<Sink> sinks;
    private final List<String> sinkNames;
    private final long maxLogBytes;
    private final long retainDeliveredMillis;
    volatile boolean backpressure;
    /** While set, the state folder's disk is full and capture waits for space. */
    volatile boolean diskFull;

    final AtomicLong deliverableEnd = new AtomicLong();
    private final AtomicLong snapshotRows = new AtomicLong();
    private final AtomicLong streamedChanges = new AtomicLong();
    final AtomicLong[] committed;
    final AtomicLong[] delivered;
    final AtomicLong[] lagMillis;
    /** Per sink, the spell of retries it is in, or null. */
    final AtomicReference<PipelineStats.Retrying>[] sinkRetrying;
    private final AtomicReference<PipelineStats.Retrying> sourceRetrying = new AtomicReference<>();
    /** Per sink, the shortest time between two of its writes while changes keep coming. */
    final long[] commitIntervalNanos;
    /** The most events one write to each sink carries. */
    final int[] batchEvents;
    /** Per sink, the size (in the Log's encoding) at which a batch is full. */
    final long[] batchBytes;
    /** Per sink, what happens to an event it refuses as a record it can never hold. */
    final SinkSettings.RecordErrors[] recordErrors;
    /** Per sink, whether its committed offset was checked against the Log (at the start, or once reachable). */
    final boolean[] checkedAgainstLog;
    /** Per sink, events sent to the dead-letter log, and events skipped, by this run. */
    final AtomicLong[] deadLettered;
    final AtomicLong[] skipped;
    /** Where refused events go; null: nowhere, so the policy dlq stops the pipeline as fail does. */
    DeadLetterLog deadLetters;
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    volatile boolean stopping;
    volatile boolean captureDone;
    private volatile boolean reachedEnd;
    volatile long stopRequestedAt;
    /** Set by {@link #revoke}: delivery stops without draining. */
    private volatile boolean revoked;
    /** How long a stop lets delivery go on draining the Log. */
    static final long DRAIN_MILLIS = 20_000;
    private boolean startingOver;
    private Position lastAcknowledged;
    volatile Mode mode = Mode.STREAM;
    /** How long a batch run retries a sink that cannot be reached before it fails. */
    long onceRetryMillis = 60_000;
    static final long MAX_BACKOFF_MILLIS = 30_000;

    /**
     * @param sinkNames      names of the sinks for logs and stats, in the same order
     * @param maxBatchEvents the most events one sink write carries, unless its {@code batch_events} says otherwise
     */
    public Pipeline(String name, Source source, Log log, List<Sink> sinks, List<String> sinkNames, int maxBatchEvents) {
        this(name, source, log, sinks, sinkNames, maxBatchEvents, 0, 0);
    }

    /**
     * @param maxLogBytes           0, or the Log size at which capture pauses until sinks catch up
     * @param retainDeliveredMillis how long segments every sink has taken are kept before deletion
     */
    public Pipeline(String name, Source source, Log log, List<Sink> sinks, List<String> sinkNames, int maxBatchEvents,
                    long maxLogBytes, long retainDeliveredMillis) {
        this.maxLogBytes = maxLogBytes;
        this.retainDeliveredMillis = retainDeliveredMillis;
        this.name = name;
        this.source = source;
        this.log = log;
        this.sinks = List.copyOf(sinks);
        this.sinkNames = List.copyOf(sinkNames);
        this.committed = new AtomicLong[sinks.size()];
        this.delivered = new AtomicLong[sinks.size()];
        this.lagMillis = new AtomicLong[sinks.size()];
        @SuppressWarnings("unchecked")
        AtomicReference<PipelineStats.Retrying>[] retrying = new AtomicReference[sinks.size()];
        this.sinkRetrying = retrying;
        this.commitIntervalNanos = new long[sinks.size()];
        this.batchEvents = new int[sinks.size()];
        java.util.Arrays.fill(batchEvents, maxBatchEvents);
        this.batchBytes = new long[sinks.size()];
        java.util.Arrays.fill(batchBytes, SinkSettings.DEFAULT_BATCH_BYTES);
        this.recordErrors = new SinkSettings.RecordErrors[sinks.size()];
        this.checkedAgainstLog = new boolean[sinks.size()];
        this.deadLettered = new AtomicLong[sinks.size()];
        this.skipped = new AtomicLong[sinks.size()];
        for (int i = 0; i < sinks.size(); i++) {
            recordErrors[i] = SinkSettings.RecordErrors.FAIL;
            deadLettered[i] = new AtomicLong();
            skipped[i] = new AtomicLong();
            committed[i] = new AtomicLong();
            delivered[i] = new AtomicLong();
            lagMillis[i] = new AtomicLong(-1);
            sinkRetrying[i] = new AtomicReference<>();
        }
    }

    /**
     * The common settings of each sink ({@code commit_interval_ms}, {@code record_errors},
     * {@code batch_events}, {@code batch_bytes}), in the order of the sinks. Without them, sinks are written as soon as events are deliverable and a refused
     * record stops the pipeline.
     */
    public void sinkSettings(List<SinkSettings> settings) {
        if (settings.size() != sinks.size()) {
            throw new IllegalArgumentException(settings.size() + " sink settings for " + sinks.size() + " sinks");
        }
        for (int i = 0; i < settings.size(); i++) {
            commitIntervalNanos[i] = settings.get(i).commitIntervalMillis() * 1_000_000L;
            recordErrors[i] = settings.get(i).recordErrors();
            if (settings.get(i).batchEvents() > 0) {
                batchEvents[i] = settings.get(i).batchEvents();
            }
            batchBytes[i] = settings.get(i).batchBytes();
        }
    }

    /** Where events the sinks refuse go under {@code record_errors: dlq}; set before {@link #run}. */
    public void deadLetters(DeadLetterLog deadLetters) {
        this.deadLetters = deadLetters;
    }

    /** The source's description, for the envelopes of dead-lettered events. */
    dev.ferry.source.SourceInfo sourceInfo() {
        return source.info();
    }

    /**
     * A batch run that left tables half read: PREREQUISITE (exit 2) when each stopped for something
     * the operator must change (a key, a privilege), else the kind of the first failure that is not
     * (a full disk on the server is no configuration problem: exit 1).
     */
    static FerryException stoppedSnapshots(List<dev.ferry.source.StoppedSnapshot> stopped) {
        ErrorKind kind = stopped.stream().map(dev.ferry.source.StoppedSnapshot::kind)
                .filter(k -> k != ErrorKind.PREREQUISITE && k != ErrorKind.CONFIG).findFirst()
                .orElse(ErrorKind.PREREQUISITE);
        return new FerryException(kind, "The batch run delivered everything else, but the snapshot of "
                + (stopped.size() == 1 ? "a table" : stopped.size() + " tables") + " stopped: "
                + stopped.stream().map(dev.ferry.source.StoppedSnapshot::description)
                        .collect(java.util.stream.Collectors.joining("; "))
                + ". Fix the cause, then read it again with ferry snapshot -c FILE --table T, or give it up with "
                + "ferry snapshot -c FILE --table T --cancel (the next run takes the request up).");
    }

    /**
     * Runs until done ({@link Mode#ONCE}: caught up with the source's "now" and delivered;
     * {@link Mode#STREAM}: {@link #stop()} was called and the Log is drained). Blocks the caller.
     *
     * @return true when the run did all it was asked: a batch run reached its end position. False
     *         when {@link #stop()} ended a batch run early (what was delivered is committed).
     */
    public boolean run(Mode mode) throws FerryException, InterruptedException {
        MDC.put("pipeline", name);
        this.mode = mode;
        Optional<Position> resume = prepareLog();
        Position end = mode == Mode.ONCE ? source.end() : null;
        if (end != null) {
            LOG.info("Batch run: delivering every change up to {}", end.display());
        }
        java.util.concurrent.ExecutorService helpers = helpers();
        try {
            try {
                source.start(resume, startingOver);
            } catch (FerryException e) {
                // a stream waits for a source that is away (or whose connection was lost while starting),
                // as it would once running; a batch run fails at once, so a wrong host is seen at once
                if (e.kind() != ErrorKind.CONNECTIVITY || mode != Mode.STREAM) {
                    throw e;
                }
                if (!reconnect(e)) {
                    return true; // stopped before the source came back: nothing was captured
                }
                resume = log.lastPosition();
            }
            boolean complete = runThreads(resume, end);
            List<dev.ferry.source.StoppedSnapshot> stopped = complete && end != null ? source.stoppedSnapshots()
                    : List.of();
            if (!stopped.isEmpty()) {
                // everything read is delivered and committed, but a table is left half read: not caught up
                throw stoppedSnapshots(stopped);
            }
            return complete;
        } finally {
            if (helpers != null) {
                helpers.shutdownNow();
            }
        }
    }

    /**
     * Delivers one partition of a Log that another process captures into ({@code ferry run --role
     * sinks}): the sinks' deliveries, and a thread that looks at the partition's end every
     * {@link #FOLLOW_MILLIS} and releases what it may to them. No capture; the source is not touched.
     * Runs until {@link #stop()} (delivery drains) or {@link #revoke()} (it stops after the current
     * write). Blocks the caller.
     */
    public void deliver(dev.ferry.log.FollowedLog followed) throws FerryException, InterruptedException {
        MDC.put("pipeline", name);
        for (int i = 0; i < sinks.size(); i++) {
            Optional<Optional<Offset>> reachable = committedIfReachable(i);
            if (reachable.isPresent()) {
                checkAgainstLog(i, reachable.get());
            }
        }
        List<Thread> threads = new ArrayList<>();
        threads.add(new Thread(() -> guarded(() -> follow(followed)), Thread.currentThread().getName() + "-follow"));
        for (int i = 0; i < sinks.size(); i++) {
            Delivery delivery = new Delivery(this, i, sinks.get(i), sinkNames.get(i));
            threads.add(new Thread(() -> guarded(delivery::run), "ferry-sink-" + sinkNames.get(i)));
        }
        runToEnd(threads, this::revoke);
    }

    /** How often a sink worker looks at the end of a partition it delivers. */
    static final long FOLLOW_MILLIS = 200;

    private void follow(dev.ferry.log.FollowedLog followed) throws Exception {
        boolean lastReadFailed = false;
        try {
            while (!stopping && failure.get() == null) {
                long end;
                try {
                    end = followed.deliverableEnd().value();
                    lastReadFailed = false;
                } catch (IOException e) {
                    // the Log's servers are away: the sinks deliver what they have, and this looks again
                    LOG.debug("cannot read the end of the Log: {}", e.getMessage());
                    lastReadFailed = true;
                    pause(1000);
                    continue;
                }
                if (end > deliverableEnd.get()) {
                    synchronized (deliverableEnd) {
                        deliverableEnd.set(end);
                        deliverableEnd.notifyAll();
                    }
                }
                pause(FOLLOW_MILLIS);
            }
            if (!revoked && !lastReadFailed && System.currentTimeMillis() - stopRequestedAt < DRAIN_MILLIS) {
                // draining (drainAndStop): what the partition holds now, the capture's last appends included;
                // not when the Log's servers are away (the read would wait out its timeouts in the shutdown)
                try {
                    long end = followed.deliverableEnd().value();
                    if (end > deliverableEnd.get()) {
                        deliverableEnd.set(end);
                    }
                } catch (IOException e) {
                    LOG.debug("cannot read the end of the Log: {}", e.getMessage());
                }
            }
        } finally {
            captureDone = true;
            synchronized (deliverableEnd) {
                deliverableEnd.notifyAll();
            }
        }
    }

    /**
     * Stops delivery of a followed partition ({@link #deliver}) once the sinks have taken what the
     * partition holds now (for at most {@link #DRAIN_MILLIS} from {@code requestedAtMillis}; the rest stays
     * in the Log): a sink worker stopped by a signal. Any thread.
     */
    public void drainAndStop(long requestedAtMillis) {
        if (!stopping) {
            stopRequestedAt = requestedAtMillis;
        }
        stopping = true;
        synchronized (deliverableEnd) {
            deliverableEnd.notifyAll();
        }
    }

    /**
     * Stops delivery after each sink's current write, without draining: the partition was given to
     * another sink worker, which goes on from what these sinks committed. Any thread.
     */
    public void revoke() {
        revoked = true;
        stopRequestedAt = System.currentTimeMillis() - DRAIN_MILLIS - 1;
        stopping = true;
        synchronized (deliverableEnd) {
            deliverableEnd.notifyAll();
        }
    }

    /** The source's helper threads (daemons, ferry-source-helper-N); null when it wants none. */
    private java.util.concurrent.ExecutorService helpers() {
        int count = source.helperThreads();
        if (count <= 0) {
            return null;
        }
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ExecutorService helpers = java.util.concurrent.Executors.newFixedThreadPool(count, r -> {
            Thread t = new Thread(r, "ferry-source-helper-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        source.helpers(helpers);
        return helpers;
    }

    private boolean runThreads(Optional<Position> resume, Position end) throws FerryException, InterruptedException {
        List<Thread> threads = new ArrayList<>();
        Thread capture = new Thread(() -> guarded(() -> capture(resume.orElse(null), end)), "ferry-capture");
        threads.add(capture);
        for (int i = 0; i < sinks.size(); i++) {
            int index = i;
            Delivery delivery = new Delivery(this, index, sinks.get(i), sinkNames.get(i));
            threads.add(new Thread(() -> guarded(delivery::run), "ferry-sink-" + sinkNames.get(i)));
        }
        runToEnd(threads, this::stop);
        StringBuilder offsets = new StringBuilder();
        for (int i = 0; i < sinks.size(); i++) {
            offsets.append(i == 0 ? "" : ", ").append(sinkNames.get(i)).append(" at offset ").append(committed[i].get());
        }
        LOG.info("Pipeline {} stopped: {} snapshot rows and {} streamed changes captured in this run; Log end {}; {}",
                name, snapshotRows.get(), streamedChanges.get(), log.end(), offsets);
        if (end == null) {
            return true;
        }
        for (AtomicLong c : committed) {
            if (c.get() < deliverableEnd.get()) {
                return false; // stopped while a sink still had events to deliver
            }
        }
        return reachedEnd;
    }

    /**
     * Starts the threads and waits for them all; when the caller is interrupted, {@code onInterrupt}
     * ends them first. Then throws the first failure of any of them.
     */
    private void runToEnd(List<Thread> threads, Runnable onInterrupt) throws FerryException, InterruptedException {
        threads.forEach(Thread::start);
        try {
            for (Thread t : threads) {
                t.join();
            }
        } catch (InterruptedException e) {
            onInterrupt.run();
            for (Thread t : threads) {
                t.join();
            }
            throw e;
        }
        Throwable f = failure.get();
        if (f instanceof FerryException fe) {
            throw fe;
        }
        if (f != null) {
            throw new FerryException(ErrorKind.INTERNAL, "Pipeline " + name + " failed: " + f, f);
        }
    }

    /**
     * Asks the pipeline to finish: capture stops, delivery drains the Log (for at most
     * {@link #DRAIN_MILLIS}; the rest stays durable in the Log for the next run), {@link #run}
     * returns. Any thread.
     */
    public void stop() {
        if (!stopping) {
            stopRequestedAt = System.currentTimeMillis();
        }
        stopping = true;
        source.stop();
        log.stopRetrying(); // an append waiting for the Log's servers gives up: stopping stays prompt
        synchronized (deliverableEnd) {
            deliverableEnd.notifyAll(); // a delivery holding for its commit interval writes now
        }
    }

    /**
     * Has {@code listener} hear of each fsync of the pipeline's Log, for a timer of the metrics; false
     * when the Log makes none of its own. See {@link Log#addSyncListener}. Any thread.
     */
    public boolean addLogSyncListener(SyncListener listener) {
        return log.addSyncListener(listener);
    }

    /** Current counters; any thread. */
    public PipelineStats stats() {
        List<PipelineStats.SinkStats> list = new ArrayList<>();
        for (int i = 0; i < sinks.size(); i++) {
            list.add(new PipelineStats.SinkStats(sinkNames.get(i), committed[i].get(), delivered[i].get(), lagMillis[i].get(),
                    deadLettered[i].get(), skipped[i].get(), sinkRetrying[i].get()));
        }
        return new PipelineStats(snapshotRows.get(), streamedChanges.get(), log.end().value(), log.sizeBytes(),
                backpressure, diskFull, sourceRetrying.get(), list);
    }

    /** Why the run failed, once it has; empty while it runs or after a clean end. Any thread. */
    public Optional<Throwable> failure() {
        return Optional.ofNullable(failure.get());
    }

    /**
     * Decides where capture resumes, resetting the Log when a snapshot was interrupted, and refuses
     * to run when the sinks and the Log do not belong together (a lost or restored state folder).
     */
    private Optional<Position> prepareLog() throws FerryException {
        Optional<Position> last = log.lastPosition();
        startingOver = last.isEmpty() && !log.createdNow();
        if (last.isPresent() && last.get().snapshot()) {
            for (int i = 0; i < sinks.size(); i++) {
                if (committedIfReachable(i).orElse(Optional.empty()).isPresent()) {
                    throw new FerryException(ErrorKind.INTERNAL, "The Log ends inside an unfinished snapshot, but sink "
                            + sinkNames.get(i) + " has already committed events. This should not happen; delete the sink's "
                            + "output and the state folder to start over.");
                }
            }
            LOG.warn("The previous run stopped before the snapshot finished ({}); taking the snapshot again from the start.",
                    last.get().display());
            try {
                log.reset();
            } catch (IOException e) {
                throw FerryException.internal("Cannot reset the Log: " + e.getMessage(), e);
            }
            startingOver = true;
            return Optional.empty();
        }
        for (int i = 0; i < sinks.size(); i++) {
            Optional<Optional<Offset>> reachable = committedIfReachable(i);
            if (reachable.isPresent()) {
                checkAgainstLog(i, reachable.get());
            }
        }
        deliverableEnd.set(log.end().value());
        return last;
    }

    /**
     * The sink's committed offset; empty (with a warning) when the sink cannot be reached now: its
     * delivery then waits for it and checks it against the Log once it is back.
     */
    private Optional<Optional<Offset>> committedIfReachable(int i) throws FerryException {
        try {
            return Optional.of(sinks.get(i).committed());
        } catch (FerryException e) {
            if (e.kind() != ErrorKind.CONNECTIVITY) {
                throw e;
            }
            LOG.warn("Sink {} cannot be reached at the start: {} Its delivery waits for it with backoff; capture and the "
                    + "other sinks go on.", sinkNames.get(i), e.getMessage());
            return Optional.empty();
        }
    }

    /** Refuses a sink whose committed offset does not belong to this Log (a lost or restored state folder). */
    void checkAgainstLog(int i, Optional<Offset> c) throws FerryException {
        checkedAgainstLog[i] = true;
        if (c.isPresent() && c.get().value() >= log.end().value()) {
            throw new FerryException(ErrorKind.PREREQUISITE, "Sink " + sinkNames.get(i) + " has committed up to offset "
                    + c.get() + ", but the Log in the state folder ends before it (at " + log.end() + "): the state "
                    + "folder was deleted, replaced or restored from an older copy. Restore the state folder that "
                    + "belongs to this output, or start over: delete the sink's output and run ferry drop (which drops "
                    + "the source's slot and the state folder), then run again.");
        }
        if (c.isPresent() && c.get().value() + 1 < log.start().value()) {
            throw new FerryException(ErrorKind.PREREQUISITE, "Sink " + sinkNames.get(i) + " is at offset " + c.get()
                    + ", but the Log only holds offsets from " + log.start() + " on: the events in between were "
                    + "deleted. Start this sink over: delete its output and run again (it then starts from the "
                    + "oldest event the Log holds).");
        }
        if (c.isEmpty() && log.start().value() > 0) {
            LOG.warn("Sink {} starts at offset {}, the oldest the Log still holds: it does not receive the snapshot "
                    + "or the changes before it.", sinkNames.get(i), log.start());
        }
    }

    private void capture(Position resume, Position end) throws Exception {
        Position lastAppended = resume;
        long lastAppendMillis = 0;
        boolean appendAbandoned = false;
        boolean sourceAway = false;
        try {
            while (!stopping && failure.get() == null) {
                if (end != null && source.caughtUp(end)) {
                    reachedEnd = true;
                    break;
                }
                if (holdBack(lastAppended)) {
                    continue;
                }
                SourceBatch batch;
                try {
                    // appends not yet durable wait for their fsync no longer than the interval
                    long syncDue = log.nanosUntilSyncDue();
                    batch = source.poll(syncDue < POLL_WAIT.toNanos() ? Duration.ofNanos(syncDue) : POLL_WAIT);
                    batch = gather(batch);
                } catch (FerryException e) {
                    if (e.kind() != ErrorKind.CONNECTIVITY) {
                        throw e;
                    }
                    if (!reconnect(e)) {
                        sourceAway = true; // closed, not started again: it has nothing more to say
                        break; // stopped while the source was away: a clean stop, delivery drains
                    }
                    lastAppended = log.lastPosition().orElse(null);
                    continue;
                }
                Position p = batch.position();
                boolean moved = lastAppended == null || p.compareTo(lastAppended) > 0;
                boolean phaseChanged = lastAppended == null || lastAppended.snapshot() != p.snapshot();
                long now = System.currentTimeMillis();
                if (!batch.events().isEmpty() || (moved && (phaseChanged || now - lastAppendMillis >= IDLE_POSITION_MILLIS))) {
                    if (!append(batch.events(), p)) {
                        appendAbandoned = true;
                        break;
                    }
                    lastAppended = p;
                    lastAppendMillis = now;
                } else {
                    sync(false);
                }
            }
            if (stopping && lastAppended != null && lastAppended.snapshot()) {
                LOG.warn("Stopped during the snapshot ({}): the next run takes the snapshot again from the start.",
                        lastAppended.display());
            }
            if (failure.get() == null && !appendAbandoned && !sourceAway) {
                // Persist and acknowledge where the source got to, so a quiet database's WAL is released.
                SourceBatch last = null;
                try {
                    last = source.poll(Duration.ZERO);
                } catch (FerryException e) {
                    if (e.kind() != ErrorKind.CONNECTIVITY) {
                        throw e;
                    }
                    // the source is away: what the Log holds is where the next run resumes
                }
                if (last != null && (!last.events().isEmpty() || lastAppended == null
                        || last.position().compareTo(lastAppended) > 0)) {
                    append(last.events(), last.position());
                }
                sync(true);
            }
        } finally {
            captureDone = true;
            synchronized (deliverableEnd) {
                deliverableEnd.notifyAll();
            }
        }
    }

    /**
     * With a group commit, changes appended now become durable, and reach the sinks, only at the Log's
     * next sync: what the source sends until then joins them in one append, read every few ms. A
     * busy source then costs a Log write, a wake-up and the pipeline's bookkeeping per sync rather than per
     * transaction, at no cost in latency. Large batches, snapshot chunks among them, go as they are. A
     * failure of the source drops what was gathered, unacknowledged, as it would a transaction in
     * flight: the source sends it again after the reconnect.
     */
    private SourceBatch gather(SourceBatch first) throws FerryException, InterruptedException {
        long wait = log.nanosUntilNextSync();
        if (first.events().isEmpty() || wait <= 0 || first.events().size() >= GATHER_MAX_EVENTS) {
            return first;
        }
        long bytes = weight(first.events()); // weighed only when gathering may follow: not per poll of a catch-up
        if (bytes >= GATHER_MAX_BYTES) {
            return first;
        }
        // what the source sends until the sync waits for it (in the kernel's socket buffer, the source's
        // queue) and is read in a few goes: no wake-up per transaction beside a busy source
        long deadline = System.nanoTime() + wait;
        List<ChangeEvent> events = new ArrayList<>(first.events());
        Position position = first.position();
        while (events.size() < GATHER_MAX_EVENTS && bytes < GATHER_MAX_BYTES && !stopping && failure.get() == null) {
            long left = deadline - System.nanoTime();
            // a read after a wait cut short by the sync (or after none) says little of the source's pace
            boolean paced = left >= gatherReadNanos;
            if (left > 0) {
                LockSupport.parkNanos(Math.min(left, gatherReadNanos));
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
            long readBytes = bytes;
            int readEvents = events.size();
            while (events.size() < GATHER_MAX_EVENTS && bytes < GATHER_MAX_BYTES) {
                SourceBatch next = source.poll(Duration.ZERO);
                position = next.position();
                if (next.events().isEmpty()) {
                    break;
                }
                events.addAll(next.events());
                bytes += weight(next.events());
            }
            if (paced) {
                gatherReadNanos = nextGatherRead(gatherReadNanos, events.size() - readEvents, bytes - readBytes);
            }
            if (left <= 0) {
                break;
            }
        }
        return new SourceBatch(events, position);
    }

    /**
     * How long {@link #gather} waits before its next read, after waiting {@code nanos} for a read that
     * found {@code events} changes of {@code bytes}: twice as long (at most {@link #GATHER_READ_MAX_NANOS})
     * when it found little, else the least.
     */
    static long nextGatherRead(long nanos, int events, long bytes) {
        return events < GATHER_FEW_EVENTS && bytes < GATHER_FEW_BYTES
                ? Math.min(GATHER_READ_MAX_NANOS, 2 * nanos) : GATHER_READ_NANOS;
    }

    /**
     * The bytes of the events' rows, about: in the Log's encoding where a row has it, else a few bytes
     * a value and the length of its text or bytes. For {@link #gather}'s bound, not a measure.
     */
    static long weight(List<ChangeEvent> events) {
        long bytes = 0;
        for (ChangeEvent e : events) {
            bytes += weight(e.before()) + weight(e.after());
        }
        return bytes;
    }

    private static long weight(Row row) {
        if (row == null) {
            return 0;
        }
        byte[] encoded = row.encodedValues();
        if (encoded != null) {
            return encoded.length;
        }
        long bytes = 0;
        for (int i = 0; i < row.size(); i++) {
            Object v = row.get(i);
            bytes += 8 + (v instanceof String t ? t.length() : v instanceof byte[] b ? b.length : 0);
        }
        return bytes;
    }

    /**
     * After the source lost its connection: reconnect with exponential backoff and jitter and resume
     * after what the Log holds (the source drops what it sends again). A stream retries until stopped;
     * a batch run for {@link #onceRetryMillis}. A snapshot cut off this way starts over, as after a
     * crash (sinks have none of it).
     *
     * @return true once reconnected; false when stopped meanwhile
     */
    private boolean reconnect(FerryException cause) throws FerryException, InterruptedException {
        sync(true); // what was written becomes durable, so capture resumes after it
        LOG.warn("Lost the source: {} Reconnecting with backoff; nothing is lost meanwhile.", cause.getMessage());
        long firstFailure = System.currentTimeMillis();
        sourceRetrying.set(new PipelineStats.Retrying(java.time.Instant.ofEpochMilli(firstFailure), cause.getMessage()));
        long backoff = 500;
        FerryException last = cause;
        while (!stopping) {
            if (mode == Mode.ONCE && System.currentTimeMillis() - firstFailure > onceRetryMillis) {
                throw last;
            }
            pause(backoff / 2 + java.util.concurrent.ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
            backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            if (stopping) {
                break;
            }
            source.close();
            Optional<Position> resume = log.lastPosition();
            // no position yet: this run created what the source holds (its slot); a snapshot
            // position: the snapshot was cut off and starts over
            boolean over = resume.isEmpty() || resume.get().snapshot();
            if (over && resume.isPresent()) {
                try {
                    log.reset();
                } catch (IOException e) {
                    throw logFailure(e);
                }
                resume = Optional.empty();
                synchronized (deliverableEnd) {
                    deliverableEnd.set(0);
                }
                LOG.warn("The snapshot was cut off with the connection; taking it again from the start.");
            }
            try {
                source.start(resume, over);
                sourceRetrying.set(null);
                lastAcknowledged = null;
                LOG.info("Reconnected to the source after {} s; resuming after {}",
                        (System.currentTimeMillis() - firstFailure) / 1000, resume.map(Position::display).orElse("the start"));
                return true;
            } catch (FerryException e) {
                if (e.kind() != ErrorKind.CONNECTIVITY) {
                    throw e;
                }
                last = e;
                sourceRetrying.set(new PipelineStats.Retrying(java.time.Instant.ofEpochMilli(firstFailure), e.getMessage()));
                LOG.debug("reconnect failed: {}", e.getMessage());
            }
        }
        return false;
    }

    /**
     * Backpressure: while the Log is at its size cap, capture waits for the slowest sink instead of
     * growing the Log; the source keeps its WAL meanwhile. Not during a snapshot, whose events sinks
     * only get once it is complete.
     */
    private boolean holdBack(Position lastAppended) throws InterruptedException, FerryException {
        boolean full = maxLogBytes > 0 && lastAppended != null && !lastAppended.snapshot() && log.sizeBytes() >= maxLogBytes;
        if (full && !backpressure) {
            LOG.warn("The Log holds {} bytes, its cap (log.max_mb): capture pauses until the slowest sink catches up. "
                    + "The source retains its changes meanwhile; check the sinks (ferry status).", log.sizeBytes());
        } else if (!full && backpressure) {
            LOG.info("The Log is below its cap again; capture resumes");
        }
        backpressure = full;
        if (full) {
            sync(false);
            try {
                // room for new changes comes before keeping delivered ones for replay; sinks may be
                // idle, so this cannot wait for their next write
                releaseDeliveredSegments();
            } catch (IOException e) {
                throw logFailure(e);
            }
            try {
                source.keepAlive(); // a long pause must not look like a dead client to the server
            } catch (FerryException e) {
                if (e.kind() != ErrorKind.CONNECTIVITY) {
                    throw e;
                }
            }
            Thread.sleep(100);
        }
        return full;
    }

    /** Sleeps in short steps, so that a stop is not kept waiting by a long backoff. */
    void pause(long millis) throws InterruptedException {
        long until = System.currentTimeMillis() + millis;
        while (!stopping && failure.get() == null && System.currentTimeMillis() < until) {
            Thread.sleep(Math.min(100, Math.max(1, until - System.currentTimeMillis())));
        }
    }

    /** Whether capture is paused because the Log reached its size cap. */
    public boolean backpressured() {
        return backpressure;
    }

    /**
     * Appends to the Log and acknowledges what is durable. When the state folder's disk is full, capture
     * pauses here and tries the same append again with backoff until there is space: the source is not
     * acknowledged meanwhile, so it keeps the changes, and delivery goes on (freeing delivered segments
     * at once, whatever the retention). A batch run gives up after {@link #onceRetryMillis}.
     *
     * @return false when the pipeline was stopped while the disk was full: the events are not in the
     *         Log, so capture must append nothing after them
     */
    private boolean append(List<ChangeEvent> events, Position p) throws FerryException, InterruptedException {
        long pausedSince = -1;
        long backoff = 200;
        while (true) {
            try {
                log.append(events, p);
                break;
            } catch (DiskFullException e) {
                long now = System.currentTimeMillis();
                if (pausedSince < 0) {
                    pausedSince = now;
                    diskFull = true;
                    LOG.warn("{}. Capture is paused: the source is not acknowledged past what the Log holds, so it "
                            + "keeps the changes. Free space there and capture goes on by itself; delivery goes on "
                            + "meanwhile and frees the segments every sink has taken.", e.getMessage());
                }
                if (mode == Mode.ONCE && now - pausedSince > onceRetryMillis) {
                    throw logFailure(e);
                }
                if (stopping || failure.get() != null) {
                    sync(true); // the appends written before the one that failed
                    LOG.warn("Stopped while the state folder's disk was full; the next run captures from the last "
                            + "position the Log holds ({}).", log.lastPosition().map(Position::display).orElse("none"));
                    return false;
                }
                // appends written before the failed one become durable and acknowledged on time
                sync(false);
                try {
                    releaseDeliveredSegments();
                    source.keepAlive(); // a long pause must not look like a dead client to the server
                } catch (IOException ignored) {
                    // deleting a segment failed: retried on the next round
                } catch (FerryException ke) {
                    if (ke.kind() != ErrorKind.CONNECTIVITY) {
                        throw ke;
                    }
                }
                pause(backoff);
                backoff = Math.min(backoff * 2, 5_000);
            } catch (IOException e) {
                if (e instanceof dev.ferry.log.AppendStoppedException) {
                    // stop() ended the retries of a Log whose servers are away; any other failure is the Log's own
                    throw new FerryException(ErrorKind.CONNECTIVITY, "Stopped while the Log could not be written: "
                            + e.getMessage() + " The source is not acknowledged past the last append the Log holds; "
                            + "the next run captures the rest again.", e);
                }
                throw logFailure(e);
            }
        }
        if (pausedSince >= 0) {
            diskFull = false;
            LOG.info("The state folder has space again after {} s; capture goes on",
                    (System.currentTimeMillis() - pausedSince) / 1000);
        }
        for (ChangeEvent e : events) {
            if (e.op() == Op.READ) {
                snapshotRows.incrementAndGet();
            } else {
                streamedChanges.incrementAndGet();
            }
        }
        acknowledgeDurable();
        return true;
    }

    /** With an fsync interval: makes appends durable when due ({@code force}: now), then acknowledges. */
    private void sync(boolean force) throws FerryException {
        try {
            if (force) {
                log.sync();
            } else {
                log.syncIfDue();
            }
        } catch (IOException e) {
            throw logFailure(e);
        }
        acknowledgeDurable();
    }

    /**
     * Acknowledges to the source exactly what the Log holds on disk, and lets sinks read it (snapshot
     * events only once the snapshot has finished).
     */
    private void acknowledgeDurable() throws FerryException {
        Optional<Position> durable = log.lastPosition();
        if (durable.isEmpty() || durable.get().equals(lastAcknowledged)) {
            return;
        }
        CrashPoints.reach("pipeline.before-acknowledge");
        try {
            source.acknowledge(durable.get());
        } catch (FerryException e) {
            if (e.kind() != ErrorKind.CONNECTIVITY) {
                throw e;
            }
            // the connection is gone: the next poll fails the same way and reconnects; the
            // acknowledgement is repeated after that. Delivery need not wait for it.
            LOG.debug("acknowledgement not sent: {}", e.getMessage());
            releaseToSinks(durable.get());
            return;
        }
        CrashPoints.reach("pipeline.after-acknowledge");
        lastAcknowledged = durable.get();
        releaseToSinks(durable.get());
    }

    /** Lets sinks read what the Log holds on disk; snapshot events only once the snapshot has finished. */
    private void releaseToSinks(Position durable) {
        if (!durable.snapshot()) {
            synchronized (deliverableEnd) {
                deliverableEnd.set(log.end().value());
                deliverableEnd.notifyAll();
            }
        }
    }

    private static FerryException logFailure(IOException e) {
        return new FerryException(ErrorKind.INTERNAL, "Cannot write the Log in the state folder: " + e.getMessage()
                + ". Ferry stops without acknowledging the source; fix the disk problem and run again.", e);
    }

    void releaseDeliveredSegments() throws IOException {
        long min = Long.MAX_VALUE;
        for (AtomicLong c : committed) {
            min = Math.min(min, c.get());
        }
        // at the size cap, room for new changes comes before keeping delivered ones for replay
        log.deleteBefore(Offset.of(min), backpressure || diskFull ? 0 : retainDeliveredMillis);
    }

    private interface Body {
        void run() throws Exception;
    }

    private void guarded(Body body) {
        MDC.put("pipeline", name);
        try {
            body.run();
        } catch (Throwable t) {
            if (failure.compareAndSet(null, t)) {
                LOG.debug("pipeline thread failed", t);
            }
            stopRequestedAt = System.currentTimeMillis();
            stopping = true;
            source.stop();
            synchronized (deliverableEnd) {
                deliverableEnd.notifyAll();
            }
        }
    }
}
