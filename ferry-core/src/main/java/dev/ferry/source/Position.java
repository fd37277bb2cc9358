package dev.ferry.source;

import java.util.Map;

/**
 * Where a source is in its own log: totally ordered among the positions of one source, immutable,
 * and persisted only through that source's {@link PositionCodec}. Comparing positions of two
 * different source types is a programming error.
 */
public interface Position extends Comparable<Position> {
    /** A short human form for logs and {@code ferry status}, such as {@code 0/16B3748 #12}. */
    String display();

    /**
     * The sink partition an event at this position belongs to, or null for none: a batch run of one
     * window ({@code window=2026-11-30}). A sink that partitions writes such events apart, where a
     * truncate event of the same partition replaces exactly that partition, and writes nothing in
     * them that differs from one run to the next (no wall-clock time), so re-running an unchanged
     * window gives byte-identical output.
     */
    default String partition() {
        return null;
    }

    /** Whether the position belongs to a snapshot read rather than to the change stream. */
    boolean snapshot();

    /**
     * The source-specific fields of the envelope's {@code "source"} block (PostgreSQL: {@code lsn};
     * MySQL: binlog file and offset), in the order they should be written.
     */
    Map<String, Object> envelopeFields();
}
