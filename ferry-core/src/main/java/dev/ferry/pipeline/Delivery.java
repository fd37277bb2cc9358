package dev.ferry.pipeline;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.log.CrashPoints;
import dev.ferry.log.LogEntry;
import dev.ferry.log.LogReader;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivery to one sink, on its own thread: reads the Log from the sink's committed offset, writes
 * batches (retrying a sink that cannot be reached), and lets retention free what every sink has.
 * It shares the run's state with its {@link Pipeline}.
 */
final class Delivery {
    private static final Logger LOG = LoggerFactory.getLogger(Delivery.class);

    private final Pipeline p;
    private final int index;
    private final Sink sink;
    private final String name;
    /**
     * More refusals in a row than this, with no event taken in between, are not bad records but a
     * sink that cannot take anything (a target table altered behind Ferry's back): delivery stops.
     */
    static final int MAX_REFUSALS_IN_A_ROW = 100;
    private int refusalsInARow;
    private long refusedInBatch;
    /** When the last write began; a quiet spell ago at first. */
    private long lastWriteNanos = System.nanoTime() - 3_600_000_000_000L;

    Delivery(Pipeline pipeline, int index, Sink sink, String name) {
        this.p = pipeline;
        this.index = index;
        this.sink = sink;
        this.name = name;
    }

    /** The delivery thread's body: read the Log from the sink's committed offset, write, repeat. */
    void run() throws Exception {
        java.util.concurrent.atomic.AtomicReference<java.util.Optional<Offset>> committed =
                new java.util.concurrent.atomic.AtomicReference<>();
        // a sink that is down when the pipeline starts is waited for, like one that goes down later
        if (!withRetry(() -> committed.set(sink.committed()), "read its committed offset")) {
            return; // stopped before the sink came back: nothing was delivered to it
        }
        if (!p.checkedAgainstLog[index]) {
            p.checkAgainstLog(index, committed.get());
        }
        long next = committed.get().map(o -> o.value() + 1).orElse(p.log.start().value());
        p.committed[index].set(next);
        try (LogReader reader = p.log.readFrom(Offset.of(next))) {
            // the batch being gathered: read from the Log, not yet written
            List<LogEntry> batch = new ArrayList<>();
            long batchBytes = 0;
            // read, but past batch_bytes with the batch: they start the next batch once this one is written
            List<LogEntry> carried = new ArrayList<>();
            while (p.failure.get() == null) {
                if (p.stopping && System.currentTimeMillis() - p.stopRequestedAt > Pipeline.DRAIN_MILLIS) {
                    long unwritten = batch.isEmpty() ? reader.next().value() : batch.get(0).offset().value();
                    LOG.info("sink {}: stopping at offset {} with {} events still to deliver; they stay in the Log "
                            + "for the next run", name, unwritten, p.deliverableEnd.get() - unwritten);
                    break;
                }
                long limit = p.deliverableEnd.get();
                if (!isFull(batch, batchBytes)) {
                    for (LogEntry e : reader.read(p.batchEvents[index] - batch.size(), p.batchBytes[index] - batchBytes,
                            Offset.of(limit))) {
                        if (!carried.isEmpty() || !batch.isEmpty() && batchBytes + e.bytes() > p.batchBytes[index]) {
                            carried.add(e); // a change larger than what is left of batch_bytes is not added to it
                        } else {
                            batch.add(e);
                            batchBytes += e.bytes();
                        }
                    }
                }
                if (batch.isEmpty()) {
                    if (p.captureDone && reader.next().value() >= p.deliverableEnd.get()) {
                        break;
                    }
                    synchronized (p.deliverableEnd) {
                        if (p.deliverableEnd.get() == limit && !p.captureDone) {
                            p.deliverableEnd.wait(200);
                        }
                    }
                    continue;
                }
                if (carried.isEmpty() && !isFull(batch, batchBytes) && holdForCommitInterval()) {
                    continue;
                }
                List<ChangeEvent> events = new ArrayList<>(batch.size());
                for (LogEntry e : batch) {
                    events.add(e.event());
                }
                long first = batch.get(0).offset().value();
                Offset last = batch.get(batch.size() - 1).offset();
                LOG.debug("sink {}: writing {} events ({} bytes) up to offset {}", name, events.size(), batchBytes, last);
                batch.clear();
                batchBytes = 0;
                for (LogEntry e : carried) {
                    batch.add(e);
                    batchBytes += e.bytes();
                }
                carried.clear();
                lastWriteNanos = System.nanoTime();
                refusedInBatch = 0;
                if (!writeIsolatingRefused(events, first)) {
                    break; // stopped while the sink was down: the rest of the batch stays in the Log
                }
                CrashPoints.reach("pipeline.after-sink-write");
                p.committed[index].set(last.value() + 1);
                p.delivered[index].addAndGet(events.size() - refusedInBatch);
                ChangeEvent newest = events.get(events.size() - 1);
                if (newest.op() != Op.READ) {
                    p.lagMillis[index].set(Math.max(0, System.currentTimeMillis() - newest.committedAt().toEpochMilli()));
                }
                p.releaseDeliveredSegments();
            }
        }
    }

    /** Whether the batch holds {@code batch_events} events or reached {@code batch_bytes}: then it is written at once. */
    private boolean isFull(List<LogEntry> batch, long bytes) {
        return batch.size() >= p.batchEvents[index] || bytes >= p.batchBytes[index];
    }

    /**
     * The sink's commit interval: while changes keep coming, a write follows the last one by at least
     * the interval, so that what arrives meanwhile goes into one batch instead of many small ones. A
     * full batch (the caller's to see), a change after a quiet spell, the end of capture and a stop are
     * not held.
     *
     * @return true after waiting: read what came meanwhile into the batch and look again
     */
    private boolean holdForCommitInterval() throws InterruptedException {
        long interval = p.commitIntervalNanos[index];
        if (interval == 0 || p.captureDone || p.stopping) {
            return false;
        }
        long wait = lastWriteNanos + interval - System.nanoTime();
        if (wait <= 0) {
            return false;
        }
        // woken by every append, by a stop and by the end of capture, to look again; at most 200 ms
        synchronized (p.deliverableEnd) {
            if (!p.captureDone && !p.stopping) {
                p.deliverableEnd.wait(Math.max(1, Math.min(200, TimeUnit.NANOSECONDS.toMillis(wait))));
            }
        }
        return true;
    }

    /**
     * Writes the events of offsets {@code first, first + 1, ...}. When the sink refuses them as holding
     * a record it can never take (an error of kind DATA), finds that record by halving (the sink
     * rolled back the refused write, so each half is written as if alone), hands it to the sink's
     * {@code record_errors} policy and writes the rest; the sink's offset then moves past the
     * refused event, so a restart does not offer it again. Halving costs about two writes per refused
     * event and level, and refused records are rare.
     *
     * @return false when the pipeline was stopped while the sink was down
     */
    private boolean writeIsolatingRefused(List<ChangeEvent> events, long first) throws FerryException,
            InterruptedException {
        Offset last = Offset.of(first + events.size() - 1);
        try {
            boolean written = writeWithRetry(events, last);
            if (written && !events.isEmpty()) {
                refusalsInARow = 0;
            }
            return written;
        } catch (FerryException e) {
            if (e.kind() != ErrorKind.DATA) {
                throw e;
            }
            if (events.size() > 1) {
                int half = events.size() / 2;
                return writeIsolatingRefused(events.subList(0, half), first)
                        && writeIsolatingRefused(events.subList(half, events.size()), first + half);
            }
            refused(events.get(0), last, e);
            refusedInBatch++;
            return writeWithRetry(List.of(), last);
        }
    }

    /** One event the sink can never take: applies the sink's {@code record_errors} policy. */
    private void refused(ChangeEvent event, Offset offset, FerryException reason) throws FerryException {
        SinkSettings.RecordErrors policy = p.recordErrors[index];
        String what = "sink " + name + " refused the " + event.op().name().toLowerCase(java.util.Locale.ROOT)
                + " of " + event.table() + " at offset " + offset + " (position " + event.position().display() + "): "
                + reason.getMessage();
        if (policy != SinkSettings.RecordErrors.FAIL && ++refusalsInARow > MAX_REFUSALS_IN_A_ROW) {
            throw new FerryException(ErrorKind.DATA, "Sink " + name + " refused " + MAX_REFUSALS_IN_A_ROW + " events in a "
                    + "row and took none: that is not a bad record but a sink that cannot take anything (a target "
                    + "table changed or constraints added behind Ferry's back?). The pipeline stops here, at offset "
                    + offset + ", which stays in the Log. The latest: " + what + " Fix the sink and run again; the events "
                    + "refused before this one are in the dead-letter log (ferry dlq list) or were skipped, as "
                    + "record_errors says.", reason);
        }
        if (policy == SinkSettings.RecordErrors.SKIP) {
            p.skipped[index].incrementAndGet();
            LOG.warn("{} Skipped, as record_errors: skip says; the event is not in this sink.", what);
        } else if (policy == SinkSettings.RecordErrors.DLQ && p.deadLetters != null) {
            String entry = p.deadLetters.add(name, offset, event, reason, p.sourceInfo());
            p.deadLettered[index].incrementAndGet();
            LOG.warn("{} It is in the dead-letter log as {}; the pipeline goes on. Read it with ferry dlq show {}; once "
                    + "the cause is fixed, ferry dlq replay --id {} delivers it where the sink can replay.", what,
                    entry, entry, entry);
        } else {
            throw new FerryException(ErrorKind.DATA, what + (policy == SinkSettings.RecordErrors.FAIL
                    ? " The pipeline stops here, as record_errors: fail says; fix the cause and run again, or set "
                    + "record_errors: dlq to set such events aside and go on."
                    : " The pipeline has no dead-letter log, so it stops here."), reason);
        }
    }

    /**
     * Writes a batch, retrying a sink that cannot be reached (CONNECTIVITY) with exponential backoff
     * and jitter, while the other sinks and capture go on; the Log keeps what the sink has not taken.
     * A stream retries until stopped; a batch run gives up after {@link Pipeline#onceRetryMillis}. Other
     * kinds of errors are not retried.
     *
     * @return false when the pipeline was stopped while the sink was still down
     */
    private boolean writeWithRetry(List<ChangeEvent> events, Offset last) throws FerryException,
            InterruptedException {
        return withRetry(() -> sink.write(events, last), "write");
    }

    private interface SinkCall {
        void run() throws FerryException;
    }

    /**
     * Calls the sink, retrying while it cannot be reached (CONNECTIVITY) with exponential backoff and
     * jitter; other kinds of errors are not retried.
     *
     * @return false when the pipeline was stopped while the sink was still down
     */
    private boolean withRetry(SinkCall call, String what) throws FerryException, InterruptedException {
        long backoff = 500;
        long firstFailure = -1;
        while (true) {
            try {
                call.run();
                p.sinkRetrying[index].set(null);
                if (firstFailure >= 0) {
                    LOG.info("sink {} is reachable again after {} s; going on", name,
                            (System.currentTimeMillis() - firstFailure) / 1000);
                }
                return true;
            } catch (FerryException e) {
                if (e.kind() != ErrorKind.CONNECTIVITY) {
                    throw e;
                }
                long now = System.currentTimeMillis();
                if (firstFailure < 0) {
                    firstFailure = now;
                }
                p.sinkRetrying[index].set(new PipelineStats.Retrying(java.time.Instant.ofEpochMilli(firstFailure),
                        e.getMessage()));
                if (firstFailure == now) {
                    LOG.warn("sink {} cannot {}: {} Retrying with backoff; capture and the other sinks go on, and "
                            + "the Log keeps what this sink has not taken.", name, what, e.getMessage());
                }
                if (p.mode == Mode.ONCE && now - firstFailure > p.onceRetryMillis) {
                    throw e;
                }
                if (p.stopping || p.failure.get() != null) {
                    return false;
                }
                p.pause(backoff / 2 + java.util.concurrent.ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
                backoff = Math.min(backoff * 2, Pipeline.MAX_BACKOFF_MILLIS);
            }
        }
    }
}
