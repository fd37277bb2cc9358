package dev.ferry.log;

/**
 * Test-only crash points: with the environment variable {@code FERRY_CRASH_AT=name} (or
 * {@code name:N}, the N-th time it is reached), the process halts at once at that named point, as a
 * power cut or SIGKILL would stop it: no shutdown hook, no flush. Crash tests use it to stop Ferry
 * between two durable steps. Unset, a crash point costs one field read.
 */
public final class CrashPoints {
    /** Exit status of a halt at a crash point, so tests can tell it from other exits. */
    public static final int EXIT_STATUS = 86;
    private static final String NAME;
    private static final long[] COUNTDOWN = new long[1];

    static {
        String spec = System.getenv("FERRY_CRASH_AT");
        if (spec == null || spec.isBlank()) {
            NAME = null;
        } else {
            int colon = spec.indexOf(':');
            NAME = colon < 0 ? spec.trim() : spec.substring(0, colon).trim();
            COUNTDOWN[0] = colon < 0 ? 1 : Long.parseLong(spec.substring(colon + 1).trim());
        }
    }

    private CrashPoints() {
    }

    /** Halts the process if this is the configured point and its count is reached. */
    public static void reach(String name) {
        if (NAME == null || !NAME.equals(name)) {
            return;
        }
        synchronized (COUNTDOWN) {
            if (--COUNTDOWN[0] > 0) {
                return;
            }
        }
        System.err.println("ferry: halting at crash point " + name + " (FERRY_CRASH_AT, test only)");
        System.err.flush();
        Runtime.getRuntime().halt(EXIT_STATUS);
    }
}
