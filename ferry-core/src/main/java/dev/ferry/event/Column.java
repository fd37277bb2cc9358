package dev.ferry.event;

import java.util.Objects;

/**
 * One column of a {@link TableSchema}.
 *
 * @param name        the column name as the source spells it
 * @param type        the logical type of its values
 * @param elementType for {@link LogicalType#ARRAY}, the type of the elements; otherwise null
 * @param sourceType  the source's own type name with modifiers ({@code numeric(12,2)}), for sinks
 *                    that create tables and for messages
 * @param key         whether the column is part of the row's identity (primary key or replica identity)
 */
public record Column(String name, LogicalType type, LogicalType elementType, String sourceType, boolean key) {
    public Column {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(sourceType, "sourceType");
        if ((type == LogicalType.ARRAY) != (elementType != null)) {
            throw new IllegalArgumentException("column " + name + ": elementType is set exactly for ARRAY columns");
        }
    }

    /** A scalar column. */
    public static Column of(String name, LogicalType type, String sourceType, boolean key) {
        return new Column(name, type, null, sourceType, key);
    }
}
