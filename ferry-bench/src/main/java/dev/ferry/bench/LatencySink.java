package dev.ferry.bench;

import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Wraps a real sink and records, for each streamed change, the time from its commit at the source
 * to the moment the wrapped sink's {@code write} returned (the change durable in the sink), in
 * microseconds. Source and Ferry share the machine's clock, so the difference is exact to the clock's
 * precision (the commit time pgoutput sends is in microseconds). It records too the longest time
 * between two writes with streamed changes returning: where changes come steadily, a stall of the
 * stream (the Log's disk, the sink's, a pause of the JVM) shows there as itself, and not only as the
 * latency of the changes that waited.
 */
final class LatencySink implements Sink {
    private static final Clock CLOCK = Clock.systemUTC();

    private final Sink delegate;
    private long[] micros = new long[1 << 16];
    /** For the same changes, the time from the commit to the wrapped sink's {@code write} being called. */
    private long[] handedMicros = new long[1 << 16];
    private int count;
    /** When the last write with streamed changes returned ({@link System#nanoTime()}); 0: none since the reset. */
    private long lastArrivalNanos;
    private long maxGapNanos;

    LatencySink(Sink delegate) {
        this.delegate = delegate;
    }

    @Override
    public List<Check> check() throws FerryException {
        return delegate.check();
    }

    @Override
    public Optional<Offset> committed() throws FerryException {
        return delegate.committed();
    }

    @Override
    public void write(List<ChangeEvent> events, Offset last) throws FerryException {
        long handedAt = micros(CLOCK.instant());
        delegate.write(events, last);
        long nowMicros = micros(CLOCK.instant());
        long arrived = System.nanoTime();
        synchronized (this) {
            int before = count;
            for (ChangeEvent e : events) {
                if (e.op() == Op.READ) {
                    continue;
                }
                long committed = micros(e.committedAt());
                if (count == micros.length) {
                    micros = Arrays.copyOf(micros, count * 2);
                    handedMicros = Arrays.copyOf(handedMicros, count * 2);
                }
                handedMicros[count] = handedAt - committed;
                micros[count++] = nowMicros - committed;
            }
            if (count > before) {
                if (lastArrivalNanos != 0) {
                    maxGapNanos = Math.max(maxGapNanos, arrived - lastArrivalNanos);
                }
                lastArrivalNanos = arrived;
            }
        }
    }

    /** Forgets what was recorded: the next {@link #take} covers what is written from now on. */
    synchronized void reset() {
        count = 0;
        lastArrivalNanos = 0;
        maxGapNanos = 0;
        if (micros.length > 1 << 20) {
            micros = new long[1 << 16];
            handedMicros = new long[1 << 16];
        }
    }

    /** The latencies recorded since the last {@link #reset}, in microseconds, sorted. */
    synchronized long[] take() {
        long[] sorted = Arrays.copyOf(micros, count);
        Arrays.sort(sorted);
        return sorted;
    }

    /**
     * For the same changes as {@link #take}, the time from the commit to the sink's {@code write} being
     * called, sorted: what capture, the Log and the reading took, without the sink's own writing.
     */
    synchronized long[] takeHanded() {
        long[] sorted = Arrays.copyOf(handedMicros, count);
        Arrays.sort(sorted);
        return sorted;
    }

    private static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1000;
    }

    /** The longest time between two writes with streamed changes since the last {@link #reset}, in microseconds. */
    synchronized long maxGapMicros() {
        return maxGapNanos / 1000;
    }

    @Override
    public void close() {
        delegate.close();
    }
}
