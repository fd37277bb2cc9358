package dev.ferry.source;

import java.util.Objects;

/**
 * The outcome of checking one prerequisite of a source or sink, as {@code ferry check} prints it.
 *
 * @param subject what was checked ("wal_level", "table public.orders")
 * @param status  OK, WARNING (works, with a consequence the user should know) or PROBLEM (will not work)
 * @param detail  what was found
 * @param fix     what to do; empty when the status is OK
 */
public record Check(String subject, Status status, String detail, String fix) {
    /** How a prerequisite stands. */
    public enum Status { OK, WARNING, PROBLEM }

    public Check {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(status, "status");
        detail = detail == null ? "" : detail;
        fix = fix == null ? "" : fix;
    }

    public static Check ok(String subject, String detail) {
        return new Check(subject, Status.OK, detail, "");
    }

    public static Check warning(String subject, String detail, String fix) {
        return new Check(subject, Status.WARNING, detail, fix);
    }

    public static Check problem(String subject, String detail, String fix) {
        return new Check(subject, Status.PROBLEM, detail, fix);
    }
}
