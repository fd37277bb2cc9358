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

    /** Whether the position belongs to a snapshot read rather than to the change stream. */
    boolean snapshot();

    /**
     * The source-specific fields of the envelope's {@code "source"} block (PostgreSQL: {@code lsn};
     * MySQL: binlog file and offset), in the order they should be written.
     */
    Map<String, Object> envelopeFields();
}
