package dev.ferry.log;

/**
 * The place of one event in the Log: 0 for the first event ever appended, then +1 per event.
 * Offsets are the Log's; positions are the source's.
 */
public record Offset(long value) implements Comparable<Offset> {
    public Offset {
        if (value < 0) {
            throw new IllegalArgumentException("offset must be >= 0, got " + value);
        }
    }

    public static Offset of(long value) {
        return new Offset(value);
    }

    public Offset next() {
        return new Offset(value + 1);
    }

    @Override
    public int compareTo(Offset o) {
        return Long.compare(value, o.value);
    }

    @Override
    public String toString() {
        return Long.toString(value);
    }
}
