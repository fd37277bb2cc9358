package dev.ferry.log;

import java.io.IOException;

/**
 * An append that gave up retrying because {@link Log#stopRetrying} asked it to (the pipeline is
 * stopping while the Log's servers cannot be reached); any other failure of an append is a plain
 * {@link IOException}. Nothing of the append is in the Log.
 */
public final class AppendStoppedException extends IOException {
    public AppendStoppedException(String message, Throwable cause) {
        super(message, cause);
    }
}
