package dev.ferry.log;

import dev.ferry.event.ChangeEvent;

/**
 * One event as read back from the Log, with its offset.
 *
 * @param bytes the size of the event in the Log's encoding (its schema included where the Log stored
 *              it with the event), as the reader measured it: what a batch's {@code batch_bytes} counts
 */
public record LogEntry(Offset offset, ChangeEvent event, int bytes) {
}
