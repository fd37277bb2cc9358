package dev.ferry.event;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The columns of one table as they were when an event was captured. Immutable; events of the same
 * table usually share one instance, and a schema change produces a new one.
 */
public final class TableSchema {
    private final TableId table;
    private final List<Column> columns;
    private final Map<String, Integer> indexByName;
    private final int[] keyIndexes;

    public TableSchema(TableId table, List<Column> columns) {
        this.table = Objects.requireNonNull(table, "table");
        this.columns = List.copyOf(columns);
        Map<String, Integer> index = new HashMap<>();
        List<Integer> keys = new ArrayList<>();
        for (int i = 0; i < this.columns.size(); i++) {
            Column c = this.columns.get(i);
            if (index.put(c.name(), i) != null) {
                throw new IllegalArgumentException(table + " has two columns named " + c.name());
            }
            if (c.key()) {
                keys.add(i);
            }
        }
        this.indexByName = Collections.unmodifiableMap(index);
        this.keyIndexes = keys.stream().mapToInt(Integer::intValue).toArray();
    }

    public TableId table() {
        return table;
    }

    public List<Column> columns() {
        return columns;
    }

    public int size() {
        return columns.size();
    }

    public Column column(int index) {
        return columns.get(index);
    }

    /** The index of the named column, or -1. */
    public int indexOf(String name) {
        Integer i = indexByName.get(name);
        return i == null ? -1 : i;
    }

    /** Indexes of the key columns, in column order; empty when the table has no identity. */
    public int[] keyIndexes() {
        return keyIndexes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TableSchema other && table.equals(other.table) && columns.equals(other.columns);
    }

    @Override
    public int hashCode() {
        return table.hashCode() * 31 + columns.hashCode();
    }

    @Override
    public String toString() {
        return table + columns.stream().map(Column::name).toList().toString();
    }
}
