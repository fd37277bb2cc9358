package dev.ferry.pipeline;

import java.util.List;

/**
 * A moment's view of a running pipeline, for progress lines and {@code ferry status}.
 *
 * @param snapshotRows    rows read by the snapshot and durable in the Log
 * @param streamedChanges changes captured from the stream and durable in the Log
 * @param logEnd          the Log's next offset
 * @param logBytes        the Log's size on disk
 * @param backpressured   capture waits because the Log reached its size cap
 * @param diskFull        capture waits because the state folder's disk is full
 * @param sourceRetrying  since when, and why, capture has been reconnecting to the source; null while connected
 * @param sinks           one entry per sink, in configuration order
 */
public record PipelineStats(long snapshotRows, long streamedChanges, long logEnd, long logBytes, boolean backpressured,
                            boolean diskFull, Retrying sourceRetrying, List<SinkStats> sinks) {
    /**
     * A server Ferry keeps retrying with backoff.
     *
     * @param since  the first failure of this spell
     * @param reason the latest failure's message
     */
    public record Retrying(java.time.Instant since, String reason) {
    }

    /**
     * @param name            the sink's type and index, such as {@code jsonl#0}
     * @param committedOffset the offset after the last committed event (events delivered so far)
     * @param lagMillis       commit-to-delivery time of the last streamed change, or -1 if none yet
     * @param deadLettered    events this sink refused that went to the dead-letter log, this run
     * @param skipped         events this sink refused that were skipped ({@code record_errors: skip}), this run
     * @param retrying        since when, and why, delivery has been retrying the sink; null while it writes
     */
    public record SinkStats(String name, long committedOffset, long delivered, long lagMillis, long deadLettered,
                            long skipped, Retrying retrying) {
    }
}
