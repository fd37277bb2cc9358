package dev.ferry.log;

import dev.ferry.event.ChangeEvent;

/** One event as read back from the Log, with its offset. */
public record LogEntry(Offset offset, ChangeEvent event) {
}
