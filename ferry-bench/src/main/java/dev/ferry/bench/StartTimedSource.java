package dev.ferry.bench;

import dev.ferry.error.FerryException;
import dev.ferry.event.TableId;
import dev.ferry.source.Check;
import dev.ferry.source.Position;
import dev.ferry.source.SnapshotProgress;
import dev.ferry.source.SnapshotRequest;
import dev.ferry.source.Source;
import dev.ferry.source.SourceBatch;
import dev.ferry.source.SourceInfo;
import dev.ferry.source.StoppedSnapshot;
import dev.ferry.source.Window;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;

/**
 * A source that notes when its {@link #start} returned, and otherwise does exactly what the one it
 * wraps does: a benchmark tells a pipeline's set-up (the connections; for PostgreSQL the slot, whose
 * creation waits for a consistent point, and the publication) from its reading, which is what a rate
 * of rows per second is about.
 */
final class StartTimedSource implements Source {
    /**
     * {@link System#nanoTime} when the last start of any of them returned (or a COPY or SELECT
     * contender connected).
     */
    static volatile long lastStarted;

    private boolean started;

    private final Source source;

    StartTimedSource(Source source) {
        this.source = source;
    }

    @Override
    public void start(Optional<Position> resumeAfter, boolean startingOver) throws FerryException {
        source.start(resumeAfter, startingOver);
        if (!started) { // a reconnect starts it again: the run's reading began with the first start
            started = true;
            lastStarted = System.nanoTime();
        }
    }

    @Override
    public SourceInfo info() {
        return source.info();
    }

    @Override
    public void workFolder(Path folder) {
        source.workFolder(folder);
    }

    @Override
    public int helperThreads() {
        return source.helperThreads();
    }

    @Override
    public void helpers(ExecutorService helpers) {
        source.helpers(helpers);
    }

    @Override
    public SnapshotRequest requestSnapshot(TableId table, String where) throws FerryException {
        return source.requestSnapshot(table, where);
    }

    @Override
    public List<StoppedSnapshot> stoppedSnapshots() {
        return source.stoppedSnapshots();
    }

    @Override
    public String cancelSnapshot(TableId table) throws FerryException {
        return source.cancelSnapshot(table);
    }

    @Override
    public Optional<SnapshotProgress> snapshotProgress(String id) throws FerryException {
        return source.snapshotProgress(id);
    }

    @Override
    public void window(Window window) throws FerryException {
        source.window(window);
    }

    @Override
    public List<Check> check() throws FerryException {
        return source.check();
    }

    @Override
    public Map<String, String> status() throws FerryException {
        return source.status();
    }

    @Override
    public List<String> dropPlan() throws FerryException {
        return source.dropPlan();
    }

    @Override
    public List<String> drop() throws FerryException {
        return source.drop();
    }

    @Override
    public Position end() throws FerryException {
        return source.end();
    }

    @Override
    public SourceBatch poll(Duration maxWait) throws FerryException, InterruptedException {
        return source.poll(maxWait);
    }

    @Override
    public boolean caughtUp(Position end) {
        return source.caughtUp(end);
    }

    @Override
    public void acknowledge(Position durable) throws FerryException {
        source.acknowledge(durable);
    }

    @Override
    public void keepAlive() throws FerryException {
        source.keepAlive();
    }

    @Override
    public void stop() {
        source.stop();
    }

    @Override
    public void close() {
        source.close();
    }
}
