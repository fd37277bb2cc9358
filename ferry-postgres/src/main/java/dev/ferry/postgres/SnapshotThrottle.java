package dev.ferry.postgres;

import java.util.Arrays;

/**
 * Paces a chunked snapshot, chunk by chunk: never faster than {@code maxRowsPerSecond} (0: no cap),
 * and, when adaptive, only as fast as the source bears.
 *
 * <p>Adaptive pacing watches a probe, {@code SELECT pg_current_wal_insert_lsn()} every
 * {@link #PROBE_MILLIS} on a connection of its own, for two signals of what the snapshot costs the
 * source's other clients:
 * <ul>
 *   <li>the source's write rate (WAL bytes per second): writers slowed down by the snapshot write
 *       less. This is what matters on a busy source; a trivial query's latency alone misses it (a
 *       busy CPU answers a short query as fast as an idle one, while writers lose throughput);</li>
 *   <li>the probe's latency, for everything else that makes the server slow to answer;</li>
 *   <li>the replay lag of the source's physical standbys (bytes of WAL not yet replayed), when it is
 *       above a limit and growing: a standby that falls further behind while the snapshot reads (from
 *       the source, or from that standby with {@code snapshot_replica}) is one the snapshot hurts. A
 *       lag that is large but steady (a standby delayed on purpose) or shrinking is left alone.</li>
 * </ul>
 * Both are only meaningful against the same source without the snapshot, so the snapshot pauses
 * for {@link #PAUSE_MILLIS} every {@link #CYCLE_MILLIS}; the probes then set the baselines (the
 * medians of the latest pauses). Every second, the last second of reading is compared with them:
 * writing less than 95% of the baseline rate, or a probe slower than {@code baseline × 1.3 + 0.3 ms},
 * cuts the rate by 30%; otherwise, well inside both, it grows by half, if the rate held chunks back
 * (a rate the snapshot does not reach is not raised further). The rate never drops below one chunk
 * per second (or the cap, when lower), so a snapshot always ends; a snapshot of an idle source runs at full speed but
 * for its pauses (about 6% of the time). A source that writes at less than 64 kB/s gives no write
 * signal: the latency alone paces.
 *
 * <p>Thread: {@link #mayRead} and {@link #chunkRead} on the capture thread, {@link #probed} on the
 * probe's; all synchronized.
 */
final class SnapshotThrottle {
    static final long PROBE_MILLIS = 50;
    static final long CYCLE_MILLIS = 5_000;
    static final long PAUSE_MILLIS = 300;
    /** The start of a pause, while chunks read before it may still run, does not count for the baseline. */
    private static final long SETTLE_MILLIS = 100;
    private static final long ADJUST_MILLIS = 1_000;
    private static final double SLOWER = 0.7;
    private static final double FASTER = 1.5;
    /** Below this write rate (bytes per second), the source's writes are too few to tell a slowdown. */
    private static final double QUIET_WAL_RATE = 64 * 1024;
    private static final double KEEP_WRITES = 0.95;
    private static final long MS = 1_000_000;

    private final double cap;
    /** Replay lag, in bytes, beyond which a growing lag slows the snapshot; 0: standbys not watched. */
    private final long maxReplicaLag;
    private boolean adaptive;
    private final int chunkRows;
    /** Rows per second allowed now; 0: no limit. */
    private double rate;
    private long nextNanos;
    private boolean waiting;
    /** Whether the first pause began; the times below are set from then on. */
    private boolean started;
    private long pauseFrom;
    private long pauseUntil;
    private long nextPause;
    private long nextAdjust;
    private final Baseline latencyBaseline = new Baseline();
    private final Baseline walBaseline = new Baseline();
    private final Phase paused = new Phase();
    private final Phase loaded = new Phase();
    /** Whether the rate held a chunk back since the last adjustment: only then may it grow. */
    private boolean held;
    /** The standbys' largest replay lag at the first and the last probe since the last adjustment; -1: none. */
    private long lagFirst = -1;
    private long lagLast = -1;
    private boolean lagging;

    /** A fixed cap only (0: none). */
    SnapshotThrottle(int maxRowsPerSecond) {
        this(maxRowsPerSecond, false, 1);
    }

    SnapshotThrottle(int maxRowsPerSecond, boolean adaptive, int chunkRows) {
        this(maxRowsPerSecond, adaptive, chunkRows, 0);
    }

    SnapshotThrottle(int maxRowsPerSecond, boolean adaptive, int chunkRows, long maxReplicaLagBytes) {
        this.cap = maxRowsPerSecond;
        this.maxReplicaLag = maxReplicaLagBytes;
        this.adaptive = adaptive;
        this.chunkRows = chunkRows;
        // adaptive: start at a modest pace and let the probe raise it
        this.rate = adaptive ? Math.min(cap > 0 ? cap : Double.MAX_VALUE, 16.0 * chunkRows) : cap;
    }

    /** Whether a probe should run: adaptive pacing. */
    synchronized boolean adaptive() {
        return adaptive;
    }

    /** Whether the probe should read the standbys' replay lag. */
    boolean watchesReplicas() {
        return maxReplicaLag > 0;
    }

    /** No probe can run: the cap alone paces. */
    synchronized void withoutProbe() {
        adaptive = false;
        rate = cap;
    }

    /** Whether the next chunk may be read at {@code nowNanos}. */
    synchronized boolean mayRead(long nowNanos) {
        if (adaptive) {
            if (!started || nowNanos - nextPause >= 0) {
                startPause(nowNanos); // the first: baselines before any chunk
            }
            if (nowNanos - pauseUntil < 0) {
                return false;
            }
            if (paused.count > 0) {
                latencyBaseline.add(paused.medianLatency());
                if (paused.hasWalRate()) {
                    walBaseline.add(paused.walRate());
                }
                paused.clear();
            }
            if (nowNanos - nextAdjust >= 0) {
                adjust();
                nextAdjust = nowNanos + ADJUST_MILLIS * MS;
            }
        }
        boolean may = !waiting || nowNanos - nextNanos >= 0; // nanoTime may be negative: compare by difference
        held |= !may;
        return may;
    }

    /**
     * A chunk asking for {@code rows} was handed out at {@code nowNanos}: the next waits its share of
     * the rate. The cap alone counts the rows asked for (a chunk of wide rows asks for fewer than
     * chunk_rows); adaptive pacing moves in whole chunks, whatever their rows: its rate (16 chunks a
     * second at first, never under one) would otherwise let chunks of a few wide rows go by the thousand.
     */
    synchronized void chunkRead(int rows, long nowNanos) {
        if (rate > 0) {
            nextNanos = nowNanos + (long) ((adaptive ? Math.max(rows, chunkRows) : Math.max(1, rows)) * 1e9 / rate);
            waiting = true;
        }
    }

    /** The probe took {@code latencyNanos} and read the WAL insert position {@code walBytes} at {@code nowNanos}. */
    synchronized void probed(long latencyNanos, long walBytes, long nowNanos) {
        probed(latencyNanos, walBytes, -1, nowNanos);
    }

    /**
     * As {@link #probed(long, long, long)}, with the largest replay lag of the source's standbys in
     * bytes ({@code replicaLagBytes}; -1 when there is none or none is visible).
     */
    synchronized void probed(long latencyNanos, long walBytes, long replicaLagBytes, long nowNanos) {
        if (!started) {
            return;
        }
        if (nowNanos - pauseFrom >= SETTLE_MILLIS * MS && nowNanos - pauseUntil < 0) {
            paused.add(latencyNanos, walBytes, nowNanos);
        } else if (nowNanos - pauseUntil >= 0) {
            loaded.add(latencyNanos, walBytes, nowNanos);
        }
        if (replicaLagBytes >= 0) {
            if (lagFirst < 0) {
                lagFirst = replicaLagBytes;
            }
            lagLast = replicaLagBytes;
        }
    }

    /** Whether the standbys' replay lag is beyond the limit and grew since the last adjustment (for the log). */
    synchronized boolean replicaLagging() {
        return lagging;
    }

    /** Whether the snapshot pauses at {@code nowNanos} (for tests). */
    synchronized boolean pausing(long nowNanos) {
        return adaptive && started && nowNanos - pauseFrom >= 0 && nowNanos - pauseUntil < 0;
    }

    /** The rows per second allowed now (0: no limit), for the log and tests. */
    synchronized double rate() {
        return rate;
    }

    private void startPause(long nowNanos) {
        started = true;
        paused.clear();
        loaded.clear();
        pauseFrom = nowNanos;
        pauseUntil = nowNanos + PAUSE_MILLIS * MS;
        nextPause = pauseUntil + CYCLE_MILLIS * MS;
        nextAdjust = pauseUntil + ADJUST_MILLIS * MS;
        held = false;
    }

    private void adjust() {
        if (latencyBaseline.count == 0 || loaded.count < 3) {
            return;
        }
        double latency = loaded.medianLatency();
        double latencyBase = latencyBaseline.median();
        double latencyLimit = latencyBase * 1.3 + 0.3 * MS; // sub-millisecond jitter is not load
        boolean slowAnswers = latency > latencyLimit;
        boolean fewerWrites = false;
        boolean writesKept = true;
        if (walBaseline.count > 0 && loaded.hasWalRate()) {
            double base = walBaseline.median();
            if (base >= QUIET_WAL_RATE) {
                double ratio = loaded.walRate() / base;
                fewerWrites = ratio < KEEP_WRITES;
                writesKept = ratio >= 1 - (1 - KEEP_WRITES) / 2;
            }
        }
        loaded.clear();
        boolean lagGrows = lagLast > lagFirst;
        lagging = maxReplicaLag > 0 && lagLast > maxReplicaLag && lagGrows;
        boolean lagKept = maxReplicaLag <= 0 || lagLast <= maxReplicaLag / 2 || !lagGrows;
        lagFirst = lagLast; // the next second's growth counts from here
        double ceiling = cap > 0 ? cap : Double.MAX_VALUE;
        if (slowAnswers || fewerWrites || lagging) {
            rate = Math.min(ceiling, Math.max(chunkRows, rate * SLOWER)); // the cap last: it may be below a chunk
        } else if (held && writesKept && lagKept && latency < (latencyBase + latencyLimit) / 2) {
            // growing a rate the snapshot does not reach (the source answers slower than it) would
            // only make it slow to come down when load appears
            rate = Math.min(ceiling, rate * FASTER);
        }
        held = false;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** The latest three pauses' values of one signal. */
    private static final class Baseline {
        private final double[] values = new double[3];
        private int count;

        void add(double value) {
            values[count++ % values.length] = value;
        }

        double median() {
            return SnapshotThrottle.median(Arrays.copyOf(values, Math.min(count, values.length)));
        }
    }

    /** The probes of one pause or one second of reading: latencies, and the WAL position's first and last. */
    private static final class Phase {
        private final double[] latencies = new double[256];
        private int count;
        private long firstWal;
        private long firstNanos;
        private long lastWal;
        private long lastNanos;

        void add(long latencyNanos, long walBytes, long nowNanos) {
            if (count == 0) {
                firstWal = walBytes;
                firstNanos = nowNanos;
            }
            lastWal = walBytes;
            lastNanos = nowNanos;
            latencies[count++ % latencies.length] = latencyNanos;
        }

        double medianLatency() {
            return SnapshotThrottle.median(Arrays.copyOf(latencies, Math.min(count, latencies.length)));
        }

        boolean hasWalRate() {
            return count >= 2 && lastNanos - firstNanos >= 100 * MS;
        }

        /** WAL bytes per second between the first and the last probe. */
        double walRate() {
            return (lastWal - firstWal) * 1e9 / (lastNanos - firstNanos);
        }

        void clear() {
            count = 0;
        }
    }
}
