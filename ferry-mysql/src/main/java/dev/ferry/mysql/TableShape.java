package dev.ferry.mysql;

import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import java.util.List;

/**
 * A table's columns as Ferry converts them: the schema events carry, and per column what the
 * conversion needs. Immutable; a schema change makes a new one.
 */
record TableShape(TableSchema schema, List<ColumnDef> columns) {
    TableShape {
        columns = List.copyOf(columns);
    }

    static TableShape of(TableId table, List<ColumnDef> columns) {
        return new TableShape(new TableSchema(table, columns.stream().map(ColumnDef::column).toList()), columns);
    }

    TableId table() {
        return schema.table();
    }

    /** Whether the table has a primary key. */
    boolean keyed() {
        return columns.stream().anyMatch(ColumnDef::key);
    }
}
