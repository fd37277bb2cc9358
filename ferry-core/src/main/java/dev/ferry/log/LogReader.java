package dev.ferry.log;

import java.io.IOException;
import java.util.List;

/**
 * Reads a {@link Log} forward from an offset. Used by one thread; not thread-safe.
 */
public interface LogReader extends AutoCloseable {
    /**
     * The next events, at most {@code maxEvents} of them and none at or after {@code limit}.
     * Returns an empty list, never null, when nothing is available; does not block.
     */
    List<LogEntry> read(int maxEvents, Offset limit) throws IOException;

    /** The offset the next {@link #read} starts at. */
    Offset next();

    @Override
    void close() throws IOException;
}
