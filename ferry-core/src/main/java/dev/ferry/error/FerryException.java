package dev.ferry.error;

/**
 * The one exception type Ferry throws for failures a user may see. Its message is one paragraph:
 * what went wrong, where, and what to do about it. Secrets never appear in it.
 */
public final class FerryException extends Exception {
    private final ErrorKind kind;

    public FerryException(ErrorKind kind, String message) {
        this(kind, message, null);
    }

    public FerryException(ErrorKind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    /** How this failure is classified; decides exit code, retry and dead-letter routing. */
    public ErrorKind kind() {
        return kind;
    }

    public static FerryException config(String message) {
        return new FerryException(ErrorKind.CONFIG, message);
    }

    public static FerryException internal(String message, Throwable cause) {
        return new FerryException(ErrorKind.INTERNAL, message, cause);
    }
}
