package dev.ferry.log;

import java.io.IOException;
import java.util.List;

/**
 * Reads a {@link Log} forward from an offset. Used by one thread; not thread-safe.
 */
public interface LogReader extends AutoCloseable {
    /** The bytes at which {@link #read(int, Offset)} stops, so that one read of wide rows stays bounded: 32 MiB. */
    long DEFAULT_MAX_BYTES = 32L * 1024 * 1024;

    /**
     * The next events, at most {@code maxEvents} of them, none at or after {@code limit}, and at most
     * {@link #DEFAULT_MAX_BYTES} of them (or one larger event alone). Returns an empty list, never null, when nothing is
     * available; does not block.
     */
    default List<LogEntry> read(int maxEvents, Offset limit) throws IOException {
        return read(maxEvents, DEFAULT_MAX_BYTES, limit);
    }

    /**
     * The next events, at most {@code maxEvents} of them, none at or after {@code limit}, and their
     * {@link LogEntry#bytes()} at most {@code maxBytes} together: a read stops before an event that
     * would take them past it, so one event larger than {@code maxBytes} comes alone, as the only event
     * of its read. Returns an empty list, never null, when nothing is available; does not block.
     */
    List<LogEntry> read(int maxEvents, long maxBytes, Offset limit) throws IOException;

    /** The offset the next {@link #read} starts at. */
    Offset next();

    @Override
    void close() throws IOException;
}
