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
 */
public record SinkSettings(long commitIntervalMillis) {
    public static final Setting<Integer> COMMIT_INTERVAL_MS = Setting.integer("commit_interval_ms",
            "while changes keep coming, the shortest time between two commits to this sink: what arrives meanwhile "
                    + "goes into the next batch (up to 8,192 events under ferry run), and a change after a quiet spell is written at once. "
                    + "The default is the sink type's: 10, and 1000 for jsonl (each commit is a new file per table). 0 "
                    + "commits every batch, however small",
            0, 60_000);

    /** The common keys, for validation and the reference docs. */
    public static final List<Setting<?>> ALL = List.of(COMMIT_INTERVAL_MS);

    /** Reads the common keys of one sink's section, with the defaults of its type. */
    public static SinkSettings read(ComponentConfig sink, SinkFactory type) throws FerryException {
        return new SinkSettings(sink.find(COMMIT_INTERVAL_MS).orElse(type.defaultCommitIntervalMillis()));
    }
}
