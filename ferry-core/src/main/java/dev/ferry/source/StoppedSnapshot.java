package dev.ferry.source;

import dev.ferry.error.ErrorKind;

/**
 * A table's snapshot that stopped before its end and stays stopped ({@link Source#stoppedSnapshots}).
 *
 * @param description the table (and its condition) with the reason, {@code "<table>[ where …]: <reason>"}
 * @param kind        what stopped it: PREREQUISITE when the operator must change something (the table's
 *                    key, a privilege, the replica), else the kind of the error that stopped it (a
 *                    failure on the server, such as a full disk, is INTERNAL)
 */
public record StoppedSnapshot(String description, ErrorKind kind) {
}
