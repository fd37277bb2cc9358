package dev.ferry.error;

/**
 * The stable classification of every failure Ferry reports. The kind is chosen where the error is
 * thrown, never inferred later from a message, and it decides three things: the process exit code,
 * whether the pipeline retries, and whether a record goes to the dead-letter log.
 */
public enum ErrorKind {
    /** The pipeline file or the command line is wrong. Exit code 2; never retried. */
    CONFIG(2),
    /** The source or sink is reachable but not set up for Ferry (wal_level, a privilege). Exit 2. */
    PREREQUISITE(2),
    /** A server could not be reached or the connection broke. Exit 1; retried where it is safe. */
    CONNECTIVITY(1),
    /** One record cannot be handled (a value a sink cannot hold). Exit 1; dead-letter candidate. */
    DATA(1),
    /** A bug or an unexpected state inside Ferry, or a failed disk write. Exit 1. */
    INTERNAL(1);

    private final int exitCode;

    ErrorKind(int exitCode) {
        this.exitCode = exitCode;
    }

    /** The process exit code for a run that ends with this kind of error. */
    public int exitCode() {
        return exitCode;
    }
}
