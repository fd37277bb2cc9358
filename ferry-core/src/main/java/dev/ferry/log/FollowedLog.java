package dev.ferry.log;

import java.io.IOException;

/**
 * One partition of a Log that another process appends to, as a sink worker reads it: {@link #end()},
 * {@link #start()} and {@link #lastPosition()} are as last looked at, and {@link #deliverableEnd()}
 * looks again. It is only read: appending, syncing and resetting are the capture's.
 */
public interface FollowedLog extends Log {
    /**
     * Looks at the partition's end again and returns the end of what sinks may read: every event of
     * the partition once the Log's last position is past the snapshot, and nothing of a snapshot that
     * has not finished (as capture releases events in one process). Never goes back. Called from one
     * thread, which may block for the Log's servers.
     */
    Offset deliverableEnd() throws IOException;
}
