package dev.ferry.log;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Times the {@link FileLog}'s fsyncs: tells the {@link SyncListener}s, and warns when one is slow.
 *
 * <p>Capture waits for every fsync of the Log (with group commit, for the one that makes its append
 * durable): while one takes seconds, no change reaches a sink and the source keeps its WAL. A stall
 * of the stream is then either this disk or something else, and only the fsync's time tells which.
 * A sync of at least {@link #SLOW_NANOS} is logged at WARN with its size and what to check; a sick disk
 * makes many, so at most one line is written per {@link #LINE_EVERY_NANOS}, counting the slow fsyncs
 * since the last line (a burst that ended is reported with the next fsync after the interval).
 *
 * <p>Called by the Log's one appending thread, under the Log's lock, after the fsync's appends are
 * visible to readers; listeners may be added from any thread. The clock and the line's destination are given, so a test decides how long an fsync
 * "takes" without waiting for one.
 */
final class SyncTimer {
    /** An fsync this long or longer is slow: the disk, not the write, holds the stream up. */
    static final long SLOW_NANOS = 1_000_000_000L;
    /** Slow fsyncs are written at most once in this long. */
    static final long LINE_EVERY_NANOS = 10_000_000_000L;

    /** The fsync to time. */
    @FunctionalInterface
    interface Fsync {
        void force() throws IOException;
    }

    private final Path dir;
    private final LongSupplier nanoTime;
    private final Consumer<String> warn;
    private final List<SyncListener> listeners = new CopyOnWriteArrayList<>();
    /** When the last WARN line was written; meaningless while {@code lines} is 0. */
    private long lastLineAt;
    private long lines;
    /** Slow fsyncs since the last line, and the slowest of them with what it made durable. */
    private long slow;
    private long slowestNanos;
    private long slowestBytes;
    private long slowestEvents;
    private boolean listenerFailed;

    SyncTimer(Path dir, LongSupplier nanoTime, Consumer<String> warn) {
        this.dir = dir;
        this.nanoTime = nanoTime;
        this.warn = warn;
    }

    void add(SyncListener listener) {
        listeners.add(listener);
    }

    /**
     * Runs {@code fsync} and returns how long it took. A failed fsync is not recorded: its exception
     * stops the pipeline. The Log makes what it synced visible first, then calls {@link #record}:
     * nothing here may delay the sinks or fail an append whose data is already on disk.
     */
    long time(Fsync fsync) throws IOException {
        long start = nanoTime.getAsLong();
        fsync.force();
        return nanoTime.getAsLong() - start;
    }

    /**
     * Tells the listeners of an fsync of {@code nanos} that made {@code bytes} and {@code events}
     * durable, and writes the WARN line when one is due. A listener that throws is reported once and
     * ignored: the fsync it was told of succeeded, and capture must go on.
     */
    void record(long nanos, long bytes, long events) {
        for (SyncListener l : listeners) {
            try {
                l.synced(nanos, bytes, events);
            } catch (RuntimeException e) {
                if (!listenerFailed) {
                    listenerFailed = true;
                    warn.accept("A listener of the Log's fsyncs in " + dir + " failed (" + e + "); the fsync succeeded "
                            + "and capture goes on. Reported once.");
                }
            }
        }
        if (nanos >= SLOW_NANOS) {
            slow++;
            if (nanos > slowestNanos) {
                slowestNanos = nanos;
                slowestBytes = bytes;
                slowestEvents = events;
            }
        }
        long now = nanoTime.getAsLong();
        if (slow > 0 && (lines == 0 || now - lastLineAt >= LINE_EVERY_NANOS)) {
            writeLine(now);
        }
    }

    /** When the Log closes: slow fsyncs held back since the last line are written now, not lost. */
    void close() {
        if (slow > 0) {
            writeLine(nanoTime.getAsLong());
        }
    }

    private void writeLine(long now) {
        warn.accept(line(now));
        lines++;
        lastLineAt = now;
        slow = 0;
        slowestNanos = 0;
    }

    private String line(long now) {
        String took = String.format(Locale.ROOT, "%s %.1f s to make %,d bytes (%,d %s) durable",
                slow == 1 ? "An fsync of the Log in " + dir + " took" : "The slowest took", slowestNanos / 1e9,
                slowestBytes, slowestEvents, slowestEvents == 1 ? "event" : "events");
        // the first slow fsync is written at once, so several are counted only after a line
        String what = slow == 1 ? took : String.format(Locale.ROOT, "%,d fsyncs of the Log in %s took %.0f s or longer "
                + "in the last %.0f s. %s", slow, dir, SLOW_NANOS / 1e9, (now - lastLineAt) / 1e9, took);
        return what + ". The disk of the state folder is slow: capture waits for these fsyncs, so changes reach the "
                + "sinks late and the source keeps its WAL meanwhile. Check that disk (iostat -x: its await and "
                + "%util; other processes writing to it; a cloud volume out of I/O credits) or move the state "
                + "folder to a faster one. Slow fsyncs are logged at most once every "
                + LINE_EVERY_NANOS / 1_000_000_000L + " s.";
    }
}
