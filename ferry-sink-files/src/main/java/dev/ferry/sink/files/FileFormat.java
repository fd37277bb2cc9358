package dev.ferry.sink.files;

import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.source.Check;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * How a {@link PartitionedFileSink} lays history rows out in one file (CSV, Parquet). Called from
 * the sink's delivery thread only.
 */
public interface FileFormat extends AutoCloseable {
    /** The format's name for messages ({@code CSV}, {@code Parquet}). */
    String name();

    /** The data files' extension, without the dot ({@code csv}). */
    String extension();

    /**
     * Writes one history row per event into {@code file} (which does not exist), complete when this
     * returns; the caller fsyncs it, renames it into place and commits. The file holds
     * {@link HistoryRows#META} then {@code columns}, in this order.
     *
     * @param columns  the old-key columns ({@link HistoryRows#withBeforeKey}), then every column the
     *                 events carry, each in its newest definition; {@link HistoryRows#value} has each value
     * @param offsets  the Log offset of each event
     * @throws FerryException of kind DATA when a value cannot be held in this format, naming the
     *                        column and the value; the caller removes what was written
     */
    void write(Path file, List<Column> columns, List<ChangeEvent> events, long[] offsets) throws IOException, FerryException;

    /** The format's own prerequisites (a library it loads), for {@code ferry check}; none by default. */
    default List<Check> check() {
        return List.of();
    }

    @Override
    void close();
}
