package dev.ferry.pipeline;

import dev.ferry.event.ChangeEvent;
import dev.ferry.log.FileLog;
import dev.ferry.log.Log;
import dev.ferry.log.LogReader;
import dev.ferry.log.Offset;
import dev.ferry.log.SyncListener;
import dev.ferry.source.Position;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/** A file Log that records the most events and bytes one append carried (what capture held at once). */
final class AppendSizes implements Log {
    private final FileLog log;
    volatile int mostEvents;
    volatile long mostBytes;

    AppendSizes(FileLog log) {
        this.log = log;
    }

    @Override
    public Offset append(List<ChangeEvent> events, Position position) throws IOException {
        mostEvents = Math.max(mostEvents, events.size());
        mostBytes = Math.max(mostBytes, Pipeline.weight(events));
        return log.append(events, position);
    }

    @Override
    public void sync() throws IOException {
        log.sync();
    }

    @Override
    public void syncIfDue() throws IOException {
        log.syncIfDue();
    }

    @Override
    public boolean addSyncListener(SyncListener listener) {
        return log.addSyncListener(listener);
    }

    @Override
    public long nanosUntilSyncDue() {
        return log.nanosUntilSyncDue();
    }

    @Override
    public long nanosUntilNextSync() {
        return log.nanosUntilNextSync();
    }

    @Override
    public boolean createdNow() {
        return log.createdNow();
    }

    @Override
    public Optional<Position> lastPosition() {
        return log.lastPosition();
    }

    @Override
    public Offset end() {
        return log.end();
    }

    @Override
    public Offset start() {
        return log.start();
    }

    @Override
    public LogReader readFrom(Offset first) throws IOException {
        return log.readFrom(first);
    }

    @Override
    public void deleteBefore(Offset oldestStillNeeded, long minAgeMillis) throws IOException {
        log.deleteBefore(oldestStillNeeded, minAgeMillis);
    }

    @Override
    public long sizeBytes() {
        return log.sizeBytes();
    }

    @Override
    public void reset() throws IOException {
        log.reset();
    }

    @Override
    public boolean awaitEnd(Offset offset, long timeoutMillis) throws InterruptedException {
        return log.awaitEnd(offset, timeoutMillis);
    }

    @Override
    public void stopRetrying() {
        log.stopRetrying();
    }

    @Override
    public void close() throws IOException {
        log.close();
    }
}
