package dev.ferry.source;

import dev.ferry.event.TableId;

/**
 * How far a snapshot asked for with {@link Source#requestSnapshot} got, for {@code ferry snapshot
 * --follow}.
 *
 * @param id            the request's id
 * @param table         the table
 * @param state         where it is
 * @param rows          rows read and durable in the Log so far
 * @param chunks        chunks read so far
 * @param estimatedRows the table's estimated size (the server's statistics), -1 when unknown or
 *                      when only some rows are read ({@code --where})
 * @param failure       why it stopped, when {@code state} is {@link State#STOPPED}
 */
public record SnapshotProgress(String id, TableId table, State state, long rows, long chunks, long estimatedRows,
                               String failure) {
    /** Where a requested snapshot is. */
    public enum State {
        /** Waiting for the running pipeline (or the next run) to take it up. */
        REQUESTED,
        /** Being read. */
        RUNNING,
        /** Stopped for good; {@code failure} says why. */
        STOPPED,
        /** Every row read and durable in the Log (or its table dropped meanwhile). */
        DONE
    }
}
