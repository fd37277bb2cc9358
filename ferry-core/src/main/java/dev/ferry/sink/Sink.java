package dev.ferry.sink;

import dev.ferry.error.FerryException;
import dev.ferry.log.Offset;
import dev.ferry.source.Check;
import dev.ferry.event.ChangeEvent;
import java.util.List;
import java.util.Optional;

/**
 * Writes events to one target, together with the Log offset they bring it to, in one atomic step
 * where the target allows it (a database transaction, a file rename plus manifest).
 *
 * <p>Called from one thread, the sink's delivery thread. Sinks never start threads of their own.
 */
public interface Sink extends AutoCloseable {
    /** Each prerequisite of the target (reachable, writable, privileges), with its fix. */
    List<Check> check() throws FerryException;

    /**
     * The offset of the last event this sink has durably written, read back from the target itself;
     * empty when it has written nothing. Delivery resumes right after it.
     */
    Optional<Offset> committed() throws FerryException;

    /**
     * The committed offset as an onlooker sees it ({@code ferry status}, {@code ferry dlq replay}),
     * never taking the target over from a pipeline that may be writing to it (no fencing, nothing
     * created): what a reader of the target sees now, so an offset a pending write commits shows only
     * once that write is durable. The default is {@link #committed()}, for sinks whose read has no such
     * effect.
     */
    default Optional<Offset> peekCommitted() throws FerryException {
        return committed();
    }

    /**
     * Writes the events of offsets {@code (committed, last]} and makes {@code last} the committed
     * offset. Idempotent: after a crash the same range may come again, possibly cut into different
     * batches, and must leave one copy. Returns once the data and the offset are durable.
     *
     * <p>{@code events} may be empty: then only the committed offset moves to {@code last} (past an
     * event the pipeline set aside). A batch may be any sub-range: the pipeline halves batches to find
     * a record the sink refuses.
     *
     * @throws FerryException of kind DATA when an event holds a record the target can never take (a
     *                        value it cannot represent, a constraint it violates), naming the table, the
     *                        column where known and the reason. Nothing of the call may remain: neither
     *                        data nor offset (the pipeline writes the other events again without it).
     *                        Of kind CONNECTIVITY when the target cannot be reached (retried).
     */
    void write(List<ChangeEvent> events, Offset last) throws FerryException;

    /**
     * Writes an event from the dead-letter log again ({@code ferry dlq replay}), once its cause is
     * fixed: outside the Log's order, applied as it was captured, at its own Log offset, leaving the
     * committed offset as it is. Returns once it is durable. Called with the pipeline stopped (the
     * state folder locked), only for events behind the committed offset. Idempotent: a crash between
     * the replay and the removal of its dead-letter entry replays it again, which must leave one copy
     * (a mirror applies by key; a history keyed by offset replaces the row of that offset).
     *
     * @throws FerryException of kind DATA when the sink still refuses it (nothing of the call is kept);
     *                        of kind CONFIG when this sink type cannot replay (the default)
     */
    default void replay(ChangeEvent event, Offset offset) throws FerryException {
        throw FerryException.config("This sink type cannot replay dead-lettered events; read them with ferry dlq show "
                + "and apply them by hand.");
    }

    @Override
    void close();
}
