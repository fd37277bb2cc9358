package dev.ferry.postgres;

import dev.ferry.event.ChangeEvent;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A sink that keeps events in memory, with its committed offset, across pipeline runs. */
final class CollectingSink implements Sink {
    final List<ChangeEvent> events = new ArrayList<>();
    final List<Integer> batchSizes = new ArrayList<>();
    private Offset committed;

    @Override
    public List<Check> check() {
        return List.of();
    }

    @Override
    public Optional<Offset> committed() {
        return Optional.ofNullable(committed);
    }

    @Override
    public synchronized void write(List<ChangeEvent> batch, Offset last) {
        long first = last.value() - batch.size() + 1;
        if (committed != null && first != committed.value() + 1) {
            throw new AssertionError("batch starts at " + first + " but committed is " + committed);
        }
        events.addAll(batch);
        batchSizes.add(batch.size());
        committed = last;
    }

    @Override
    public void close() {
    }
}
