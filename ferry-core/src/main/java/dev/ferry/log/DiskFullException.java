package dev.ferry.log;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The disk of the Log's folder has no space left for an append. The append was undone whole, so the
 * same append may be tried again once space is freed; nothing of it is durable or acknowledged.
 */
public final class DiskFullException extends IOException {
    DiskFullException(Path folder, IOException cause) {
        super("No space left on the disk of the Log's folder " + folder + " (" + cause.getMessage() + ")", cause);
    }
}
