package dev.ferry.postgres;

/** Paces a chunked snapshot to at most {@code maxRowsPerSecond} (0: no cap), chunk by chunk. */
final class SnapshotThrottle {
    private final double rate;
    private long nextNanos;
    private boolean waiting;

    SnapshotThrottle(int maxRowsPerSecond) {
        this.rate = maxRowsPerSecond;
    }

    /** Whether the next chunk may be read at {@code nowNanos}. */
    boolean mayRead(long nowNanos) {
        return !waiting || nowNanos - nextNanos >= 0; // nanoTime may be negative: compare by difference
    }

    /** A chunk of {@code rows} was read at {@code nowNanos}: the next waits its share of the rate. */
    void chunkRead(int rows, long nowNanos) {
        if (rate > 0) {
            nextNanos = nowNanos + (long) (Math.max(1, rows) * 1e9 / rate);
            waiting = true;
        }
    }
}
