package dev.ferry.sink;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import java.util.List;

/**
 * Keys every sink takes, besides its own: how delivery feeds it.
 *
 * @param commitIntervalMillis the shortest time between two writes (commits) to the sink while
 *                             changes keep coming; 0 writes each batch as soon as it is deliverable
 * @param recordErrors         what delivery does with an event the sink refuses as a record it can
 *                             never hold (an error of kind DATA)
 * @param batchEvents          the most events one write carries; 0 for the pipeline's (8,192 under
 *                             {@code ferry run})
 * @param batchBytes           the size (in the Log's encoding) at which a batch is full: the event that
 *                             reaches it is the batch's last
 */
public record SinkSettings(long commitIntervalMillis, RecordErrors recordErrors, int batchEvents, int batchBytes) {
    /** The default of {@code batch_bytes}: 32 MiB. */
    public static final int DEFAULT_BATCH_BYTES = 32 * 1024 * 1024;

    /** What happens to an event a sink can never hold. */
    public enum RecordErrors {
        /** Stop the pipeline with the event's offset, position and reason. */
        FAIL,
        /** Count it, log it, and go on without it. */
        SKIP,
        /** Write it to the dead-letter log with its reason, and go on. */
        DLQ
    }

    /** The settings of a sink whose refused records go to the dead-letter log. */
    public SinkSettings(long commitIntervalMillis) {
        this(commitIntervalMillis, RecordErrors.DLQ);
    }

    /** The settings of a sink that takes batches of the pipeline's size. */
    public SinkSettings(long commitIntervalMillis, RecordErrors recordErrors) {
        this(commitIntervalMillis, recordErrors, 0);
    }

    /** The settings of a sink whose batches are full at the default {@code batch_bytes}. */
    public SinkSettings(long commitIntervalMillis, RecordErrors recordErrors, int batchEvents) {
        this(commitIntervalMillis, recordErrors, batchEvents, DEFAULT_BATCH_BYTES);
    }

    public static final Setting<String> RECORD_ERRORS = Setting.oneOf("record_errors",
            "what to do with an event this sink refuses as a record it can never hold (a value it cannot "
                    + "represent, a constraint it violates): dlq writes it to the dead-letter log (ferry dlq) and goes on, "
                    + "skip logs and counts it and goes on, fail stops the pipeline at it. Sinks that cannot be "
                    + "reached are retried, whatever this says", "dlq", "skip", "fail").withDefault("dlq");

    public static final Setting<Integer> COMMIT_INTERVAL_MS = Setting.integer("commit_interval_ms",
            "while changes keep coming, the shortest time between two commits to this sink: what arrives meanwhile "
                    + "goes into the next batch (up to batch_events or batch_bytes: a full batch is written at once), and a change after a quiet spell is written at once. "
                    + "The default is the sink type's: 10, 100 for kafka, 1000 for jsonl (each commit is a new file per table) and "
                    + "postgres (each commit is a few statements per table and a WAL flush), 500 for duckdb, 10000 for "
                    + "parquet and csv (each commit is a new file per table and partition, and readers pay per file). 0 "
                    + "commits every batch, however small",
            0, 60_000);

    public static final Setting<Integer> BATCH_EVENTS = Setting.integer("batch_events",
            "the most changes one write to this sink carries (default 8,192 under ferry run). Larger batches make "
                    + "fewer commits and, for the file sinks, larger files with fuller Parquet row groups; a batch is "
                    + "held in the Java heap while it is written, so memory grows with it",
            1, 1_000_000);

    public static final Setting<Integer> BATCH_BYTES = Setting.integer("batch_bytes",
            "the size, in bytes of the Log's encoding of the changes, at which a batch for this sink is full "
                    + "(default 33554432, 32 MiB): a batch never passes it with a change that would take it past, "
                    + "which starts the next batch, so a change larger than this is written alone. A batch is full at batch_events or batch_bytes, whichever comes "
                    + "first, and a full batch is written at once, whatever commit_interval_ms says. It bounds the "
                    + "heap a batch of wide rows takes (decoded rows take about as much again as their encoding)",
            1024, 1024 * 1024 * 1024).withDefault(DEFAULT_BATCH_BYTES);

    /** The common keys, for validation and the reference docs. */
    public static final List<Setting<?>> ALL = List.of(COMMIT_INTERVAL_MS, RECORD_ERRORS, BATCH_EVENTS, BATCH_BYTES);

    /** Reads the common keys of one sink's section, with the defaults of its type. */
    public static SinkSettings read(ComponentConfig sink, SinkFactory type) throws FerryException {
        return new SinkSettings(sink.find(COMMIT_INTERVAL_MS).orElse(type.defaultCommitIntervalMillis()),
                RecordErrors.valueOf(sink.get(RECORD_ERRORS).toUpperCase(java.util.Locale.ROOT)),
                sink.find(BATCH_EVENTS).orElse(0), sink.get(BATCH_BYTES));
    }
}
