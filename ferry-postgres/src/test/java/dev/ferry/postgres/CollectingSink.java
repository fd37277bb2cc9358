package dev.ferry.postgres;

import dev.ferry.config.ComponentConfig;
import dev.ferry.event.ChangeEvent;
import dev.ferry.log.FileLog;
import dev.ferry.log.Offset;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import dev.ferry.source.Source;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A sink that keeps events in memory, with its committed offset, across pipeline runs. */
final class CollectingSink implements Sink {
    final List<ChangeEvent> events = new ArrayList<>();
    final List<Integer> batchSizes = new ArrayList<>();
    private Offset committed;

    /**
     * Runs pipeline {@code name} (its own slot, and its Log in {@code state}) once from {@code database}
     * into this sink, with {@code settings} added to the source's; returns the events this run brought.
     */
    List<ChangeEvent> runOnce(TestingPostgres pg, String database, Path state, String name, String settings)
            throws Exception {
        PostgresSourceFactory factory = new PostgresSourceFactory();
        int before = events.size();
        String yaml = "type: postgres\nhost: " + pg.host() + "\nport: " + pg.port() + "\ndatabase: " + database
                + "\nuser: " + pg.user() + "\npassword: '" + pg.password() + "'\n" + settings;
        ComponentConfig config = ComponentConfig.ofYaml("source", yaml);
        config.rejectUnknownKeys(factory.settings());
        try (Source source = factory.create(name, config);
             FileLog log = FileLog.open(state.resolve(name), factory.positionCodec())) {
            new Pipeline(name, source, log, List.of(this), List.of("collect"), 1000).run(Mode.ONCE);
        }
        return List.copyOf(events.subList(before, events.size()));
    }

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
