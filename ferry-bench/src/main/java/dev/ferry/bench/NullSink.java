package dev.ferry.bench;

import dev.ferry.event.ChangeEvent;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import java.util.List;
import java.util.Optional;

/** A sink that discards, committing as it goes: the cost of capture and the Log without a destination's. */
final class NullSink implements Sink {
    private Offset committed;
    private long events;

    @Override
    public List<Check> check() {
        return List.of();
    }

    @Override
    public Optional<Offset> committed() {
        return Optional.ofNullable(committed);
    }

    @Override
    public void write(List<ChangeEvent> batch, Offset last) {
        events += batch.size();
        committed = last;
    }

    /** Events written so far. */
    long events() {
        return events;
    }

    @Override
    public void close() {
    }
}
