package dev.ferry.log;

/**
 * Hears of each fsync a {@link Log} makes to turn appends durable, with how long it took: the admin
 * endpoint's timer {@code ferry.log.sync} and the streaming benchmark listen, so that a stall can be
 * told to be the Log's disk or something else.
 *
 * <p>Called on the appending thread (capture), after the fsync returned and while the Log's lock is
 * held: an implementation only records (a counter, a Micrometer timer), never blocks and never
 * throws. Not called for an fsync that failed: that one stops the pipeline.
 */
@FunctionalInterface
public interface SyncListener {
    /**
     * One fsync of the Log returned.
     *
     * @param nanos  how long it took, by {@link System#nanoTime()}
     * @param bytes  bytes of frames it made durable (0 for an fsync with nothing new, which the Log skips)
     * @param events events it made durable, readable and acknowledgeable; 0 when only the source's
     *               position moved (a frame without events)
     */
    void synced(long nanos, long bytes, long events);
}
