package dev.ferry.source;

import dev.ferry.error.FerryException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Reads one database and turns its changes into events, in source commit order.
 *
 * <p>Lifecycle: {@link #check()} may be called at any time; then {@link #start} once, then
 * {@link #poll} repeatedly, interleaved with {@link #acknowledge}, and finally {@link #close()}. All
 * of these are called from one thread, the pipeline's capture thread. Only {@link #stop()} may be
 * called from any thread. Sources never start threads of their own: work beside the capture thread
 * (PostgreSQL: reading snapshot chunks) runs on the helper threads the pipeline lends them
 * ({@link #helperThreads()}, {@link #helpers}).
 *
 * <p>Exactly-once hinges on two rules: a source resumed after position P returns no event at or
 * before P, and it never tells its server that a change is consumed before {@link #acknowledge}
 * covered it.
 */
public interface Source extends AutoCloseable {
    /** The envelope's source block. */
    SourceInfo info();

    /**
     * A folder inside the pipeline's state folder for the source's own files (PostgreSQL: transactions
     * spilled until they commit, snapshot requests and progress). Given before {@link #start}; a
     * source never given one uses a temporary folder.
     */
    default void workFolder(java.nio.file.Path folder) {
    }

    /** How many helper threads the source would use beside the capture thread; 0: none. */
    default int helperThreads() {
        return 0;
    }

    /**
     * The pipeline's helper threads ({@link #helperThreads()} of them, owned and shut down by the
     * pipeline after the run), given before {@link #start}. A source never given them does that
     * work on the capture thread.
     */
    default void helpers(java.util.concurrent.ExecutorService helpers) {
    }

    /**
     * Asks for a (re-)snapshot of one table while the pipeline streams ({@code ferry snapshot}),
     * optionally of the rows matching {@code where} (SQL); the running pipeline, or the next run, takes
     * it up.
     */
    default SnapshotRequest requestSnapshot(dev.ferry.event.TableId table, String where) throws FerryException {
        throw FerryException.config("This source cannot snapshot a table while it streams.");
    }

    /**
     * The snapshots of tables that stopped before their end and stay stopped (a chunked snapshot's
     * job that cannot go on: its table lost its key, a statement fails), each as
     * {@code "<table>: <reason>"}; asked after a batch run, which must not end as caught up with a
     * table left half read. Empty by default.
     */
    default List<StoppedSnapshot> stoppedSnapshots() {
        return List.of();
    }

    /**
     * Gives up the snapshots of one table ({@code ferry snapshot --cancel}): its stopped or waiting
     * jobs and its requests not taken up yet, by the running pipeline or the next run. Works for a
     * table no longer captured, or gone.
     *
     * @return what to tell the operator
     * @throws FerryException of kind CONFIG when the table has no snapshot to cancel, or the source
     *         has no such snapshots (the default)
     */
    default String cancelSnapshot(dev.ferry.event.TableId table) throws FerryException {
        throw FerryException.config("This source has no snapshots to cancel.");
    }

    /**
     * How far the snapshot requested as {@code id} got ({@code ferry snapshot --follow}); reads the
     * state folder, so it works while another process runs the pipeline. Empty when the source
     * has no such snapshots.
     */
    default Optional<SnapshotProgress> snapshotProgress(String id) throws FerryException {
        return Optional.empty();
    }

    /**
     * Restricts the next batch run to one window ({@code ferry run --once --window}); given before
     * {@link #start}. Only sources that extract by query can.
     *
     * @throws FerryException of kind CONFIG when this source cannot extract a window (the default)
     */
    default void window(Window window) throws FerryException {
        throw FerryException.config("This source type reads a change log and cannot extract a time window; "
                + "--window, --from and --to are for type: jdbc.");
    }

    /** Each prerequisite, with the problem and its fix where there is one. Connects, but changes nothing. */
    List<Check> check() throws FerryException;

    /**
     * What the source's server says about this pipeline, as label → value lines for
     * {@code ferry status} (PostgreSQL: the slot's confirmed LSN and the WAL it retains). Connects;
     * changes nothing. May be called while another process runs the pipeline.
     */
    default java.util.Map<String, String> status() throws FerryException {
        return java.util.Map.of();
    }

    /**
     * What {@link #drop()} would remove from the source's server, one line each, for the user to
     * confirm (PostgreSQL: the replication slot, and the publication when Ferry created it); empty
     * when nothing is there. Connects; changes nothing. Called by {@code ferry drop} only, with the
     * state folder locked.
     *
     * @throws FerryException of kind PREREQUISITE when {@link #drop()} would refuse: the pipeline
     *                        runs elsewhere (PostgreSQL: another connection holds the slot)
     */
    default List<String> dropPlan() throws FerryException {
        return List.of();
    }

    /**
     * Removes what this pipeline created on the source's server, so the server keeps nothing for it
     * (PostgreSQL: no slot that retains WAL) and a later run starts over with a fresh snapshot.
     * Never removes what someone else created, nor any data. Called by {@code ferry drop} only, with
     * the state folder locked, on a source that was never started.
     *
     * <p>Idempotent: what is already gone is skipped, so a second call removes nothing and returns
     * an empty list.
     *
     * @return one line per thing removed, in the words of {@link #dropPlan()}
     * @throws FerryException of kind PREREQUISITE, having removed nothing, when the pipeline runs
     *                        elsewhere
     */
    default List<String> drop() throws FerryException {
        return List.of();
    }

    /** The position of "now": a batch run ({@code run --once}) delivers everything before it, then exits. */
    Position end() throws FerryException;

    /**
     * Connects and prepares (for CDC: creates the slot and takes the snapshot when there is no
     * position yet).
     *
     * @param resumeAfter  the last position the Log holds; empty on a first run
     * @param startingOver only with an empty {@code resumeAfter}: true when an earlier start of this
     *                     pipeline recorded no position (it stopped before its snapshot finished), so
     *                     what that start created on the server (the PostgreSQL slot) may be discarded;
     *                     false for a brand-new state folder, where such leftovers belong to someone
     *                     else or to a lost state folder, and must be refused, never reused or dropped
     */
    void start(Optional<Position> resumeAfter, boolean startingOver) throws FerryException;

    /**
     * The next events and the position reached. Blocks at most about {@code maxWait}; returns a batch
     * with no events, never null, if nothing arrived. Returns at most a bounded number of events, so
     * that memory stays bounded whatever the size of a source transaction.
     */
    SourceBatch poll(Duration maxWait) throws FerryException, InterruptedException;

    /**
     * Whether every change committed before {@code end} has been returned by {@link #poll}. A batch
     * run stops polling once this is true.
     */
    boolean caughtUp(Position end);

    /**
     * The Log holds every event up to and including {@code durable} on disk: the source may let its
     * server discard them (PostgreSQL: advance the slot's confirmed flush LSN). Idempotent.
     */
    void acknowledge(Position durable) throws FerryException;

    /**
     * Tells the server the client is alive while the pipeline does not poll (backpressure), so a long
     * pause is not taken for a dead connection. Capture thread; at most about once a second matters.
     */
    default void keepAlive() throws FerryException {
    }

    /** Makes a blocked {@link #poll} return promptly. Any thread; idempotent. */
    void stop();

    /** Releases connections. Does not drop the slot or anything else that holds the position. */
    @Override
    void close();
}
