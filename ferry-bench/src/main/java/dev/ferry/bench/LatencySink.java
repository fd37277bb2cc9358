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
 * precision (the commit time pgoutput sends is in microseconds).
 */
final class LatencySink implements Sink {
    private static final Clock CLOCK = Clock.systemUTC();

    private final Sink delegate;
    private long[] micros = new long[1 << 16];
    private int count;

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
        delegate.write(events, last);
        Instant now = CLOCK.instant();
        long nowMicros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
        synchronized (this) {
            for (ChangeEvent e : events) {
                if (e.op() == Op.READ) {
                    continue;
                }
                Instant c = e.committedAt();
                if (count == micros.length) {
                    micros = Arrays.copyOf(micros, count * 2);
                }
                micros[count++] = nowMicros - (c.getEpochSecond() * 1_000_000L + c.getNano() / 1000);
            }
        }
    }

    /** Forgets what was recorded: the next {@link #take} covers what is written from now on. */
    synchronized void reset() {
        count = 0;
        if (micros.length > 1 << 20) {
            micros = new long[1 << 16];
        }
    }

    /** The latencies recorded since the last {@link #reset}, in microseconds, sorted. */
    synchronized long[] take() {
        long[] sorted = Arrays.copyOf(micros, count);
        Arrays.sort(sorted);
        return sorted;
    }

    @Override
    public void close() {
        delegate.close();
    }
}
