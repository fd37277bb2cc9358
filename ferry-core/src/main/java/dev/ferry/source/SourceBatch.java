package dev.ferry.source;

import dev.ferry.event.ChangeEvent;
import java.util.List;
import java.util.Objects;

/**
 * What one {@link Source#poll} returns: the next events in source order, and the position the source
 * has reached once they are handled. The position may move without events (a quiet database still
 * advances its WAL; a snapshot finishes), and the pipeline persists it with the events, so a restart
 * resumes after it.
 *
 * @param events   the next events, possibly empty
 * @param position the source's position after these events; never before the previous batch's
 */
public record SourceBatch(List<ChangeEvent> events, Position position) {
    public SourceBatch {
        events = List.copyOf(events);
        Objects.requireNonNull(position, "position");
    }
}
