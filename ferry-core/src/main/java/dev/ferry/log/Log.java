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
     * Appends events (possibly none) and the source position they bring the capture to. Returns once
     * both are durable on disk. Called from one thread.
     *
     * @return the offset the next append will give its first event
     */
    Offset append(List<ChangeEvent> events, Position position) throws IOException;

    /** Whether opening found no Log on disk and created an empty one. */
    boolean createdNow();

    /** The position of the last append, or empty for a Log that never had one. */
    Optional<Position> lastPosition();

    /** The offset the next appended event will get; every smaller offset is durable. */
    Offset end();

    /** The oldest offset still held (retention deletes older ones). */
    Offset start();

    /**
     * A reader positioned at {@code first}. Readers see only durable events. Throws
     * {@link IllegalArgumentException} if {@code first} was already deleted by retention.
     */
    LogReader readFrom(Offset first) throws IOException;

    /** Deletes whole segments all of whose events lie before {@code oldestStillNeeded}. */
    void deleteBefore(Offset oldestStillNeeded) throws IOException;

    /**
     * Discards everything, for a capture that must start over (a snapshot interrupted before it
     * finished). Only allowed while no sink has committed anything from this Log.
     */
    void reset() throws IOException;

    /** Blocks until {@link #end()} passes {@code offset} or the timeout elapses; true if it did. */
    boolean awaitEnd(Offset offset, long timeoutMillis) throws InterruptedException;

    @Override
    void close() throws IOException;
}
