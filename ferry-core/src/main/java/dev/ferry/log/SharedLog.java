package dev.ferry.log;

import dev.ferry.error.FerryException;
import java.util.function.BooleanSupplier;

/**
 * A Log whose partitions sink workers in several processes share ({@code ferry run --role sinks}):
 * each partition is delivered by one worker at a time, and a worker that leaves or dies hands its
 * partitions to the others. The Kafka Log does it with a consumer group.
 */
public interface SharedLog extends AutoCloseable {
    /** How many partitions the Log has. */
    int partitions();

    /**
     * Joins the pipeline's sink workers and calls {@code assignments}, on the calling thread, as
     * partitions are given to this process and taken from it; blocks until {@code stopped} says so,
     * then gives up every partition it holds (calling {@link Assignments#revoked}) and leaves.
     *
     * @throws FerryException when the Log's servers cannot be used (CONNECTIVITY, PREREQUISITE)
     */
    void follow(Assignments assignments, BooleanSupplier stopped) throws FerryException;

    /** What a sink worker does when partitions come and go. Called on the thread of {@link #follow}. */
    interface Assignments {
        /**
         * The partition is this process's now: open its sinks and start delivering it from each sink's
         * committed offset. Returns promptly (delivery runs on threads of its own).
         */
        void assigned(int partition, FollowedLog log);

        /**
         * The partition is taken away: stop its deliveries after their current write, close its sinks
         * and the {@link FollowedLog}, and return once they stopped, so that the next worker starts
         * from what this one committed.
         */
        void revoked(int partition);
    }

    /** Whether the Log exists yet (the capture makes it on its first run). */
    boolean exists() throws FerryException;

    /**
     * One partition, opened to be read as a worker reads it but without joining the workers, for
     * {@code ferry status}: its end, start and last position as they are now.
     */
    FollowedLog readPartition(int partition) throws FerryException;

    /**
     * What {@code ferry status} shows of the Log and its workers, label to value in order: where the Log
     * is, the workers' group with its members and the partitions each holds.
     */
    java.util.Map<String, String> describe() throws FerryException;

    /**
     * The partitions a sink worker may hold now: those the workers' group gives its members, and every
     * partition while the group is handing them out. Empty when no worker runs.
     */
    java.util.Set<Integer> heldPartitions() throws FerryException;

    @Override
    void close();
}
