package dev.ferry.log;

import dev.ferry.event.ChangeEvent;
import dev.ferry.source.Position;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The durable, ordered, replayable middle between capture and delivery. One writer (the capture
 * thread) appends; any number of readers, each at its own pace, read from their own offset.
 *
 * <p>Every append carries the source position reached after its events, so a restarted capture
 * resumes after {@link #lastPosition()} and the source is acknowledged only for what is on disk.
 */
public interface Log extends AutoCloseable {
    /**
     * Appends events (possibly none) and the source position they bring the capture to. With the
     * default fsync policy it returns once both are durable on disk; with an fsync interval it may
     * return before, and they become durable, readable and visible in {@link #lastPosition()} at the
     * next {@link #sync()}. Called from one thread.
     *
     * @return the offset the next append will give its first event
     */
    Offset append(List<ChangeEvent> events, Position position) throws IOException;

    /** Makes every append so far durable now. Same thread as {@link #append}. */
    void sync() throws IOException;

    /** {@link #sync()} if the fsync interval has passed since the last one; a no-op per-batch. */
    void syncIfDue() throws IOException;

    /**
     * Has {@code listener} hear of each fsync this Log makes in {@link #sync()} (or in an append, with
     * an fsync per append) and how long it took, from now until the Log is closed. Any thread.
     *
     * @return false, and the listener is never called, for a Log that makes no fsyncs of its own
     *         (Kafka: its brokers make appends durable); the default
     */
    default boolean addSyncListener(SyncListener listener) {
        return false;
    }

    /**
     * How long until appends not yet durable are due for their {@link #sync()}: capture waits for the
     * source no longer than this. {@link Long#MAX_VALUE} when nothing waits for one.
     */
    default long nanosUntilSyncDue() {
        return Long.MAX_VALUE;
    }

    /**
     * How long an append made now would wait for its {@link #sync()}: 0 when it would be synced at once
     * (the default, for a Log whose every append is durable when it returns). Changes appended earlier
     * would become durable, and reach sinks, no sooner: capture gathers the source's changes for this
     * long into one append.
     */
    default long nanosUntilNextSync() {
        return 0;
    }

    /** Whether opening found no Log on disk and created an empty one. */
    boolean createdNow();

    /** The position of the last durable append, or empty for a Log that never had one. */
    Optional<Position> lastPosition();

    /** The end of the durable events: every smaller offset is durable and readable. */
    Offset end();

    /** The oldest offset still held (retention deletes older ones). */
    Offset start();

    /**
     * A reader positioned at {@code first}. Readers see only durable events. Throws
     * {@link IllegalArgumentException} if {@code first} was already deleted by retention.
     */
    LogReader readFrom(Offset first) throws IOException;

    /** Deletes whole segments all of whose events lie before {@code oldestStillNeeded}. */
    default void deleteBefore(Offset oldestStillNeeded) throws IOException {
        deleteBefore(oldestStillNeeded, 0);
    }

    /**
     * Deletes whole segments all of whose events lie before {@code oldestStillNeeded} and that were
     * last written at least {@code minAgeMillis} ago.
     */
    void deleteBefore(Offset oldestStillNeeded, long minAgeMillis) throws IOException;

    /** Bytes the Log holds on disk. */
    long sizeBytes();

    /**
     * Discards everything, for a capture that must start over (a snapshot interrupted before it
     * finished). Only allowed while no sink has committed anything from this Log.
     */
    void reset() throws IOException;

    /** Blocks until {@link #end()} passes {@code offset} or the timeout elapses; true if it did. */
    boolean awaitEnd(Offset offset, long timeoutMillis) throws InterruptedException;

    /**
     * The pipeline is stopping: an {@link #append} that is retrying a failure (a Log whose servers went
     * away) gives up now instead of at the end of its retry budget, throwing
     * {@link AppendStoppedException}, and so does every later one after one attempt; when no append is
     * retrying (no outage), later appends keep a short retry, so one passing error does not fail a clean
     * stop. What was not appended is not acknowledged, and the next run captures it again. Any thread.
     * The default does nothing, for a Log whose appends do not retry.
     */
    default void stopRetrying() {
    }

    @Override
    void close() throws IOException;
}
