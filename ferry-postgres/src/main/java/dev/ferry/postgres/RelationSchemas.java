package dev.ferry.postgres;

import dev.ferry.event.Column;
import dev.ferry.event.Row;
import dev.ferry.event.RowEncoder;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.postgres.pgoutput.PgOutputMessage;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Turns pgoutput relations and tuples into Ferry schemas and rows. */
final class RelationSchemas {
    private RelationSchemas() {
    }

    /**
     * The schema of a relation message. Key columns are the replica identity's, except with replica
     * identity FULL or NOTHING, where pgoutput marks every column or none: then the primary key from
     * the catalog is the key, so events of every table are keyed the same way the snapshot keys them.
     */
    static TableSchema of(PgOutputMessage.Relation r, Map<Integer, String> typeNames, Catalog catalog) throws SQLException {
        Set<String> primaryKey = null;
        if (r.replicaIdentity() == 'f' || r.replicaIdentity() == 'n') {
            primaryKey = catalog.primaryKey(r.id());
        }
        List<Column> columns = new ArrayList<>(r.columns().size());
        for (PgOutputMessage.RelationColumn c : r.columns()) {
            boolean key = primaryKey != null ? primaryKey.contains(c.name()) : c.key();
            columns.add(catalog != null
                    ? PgTypes.column(c.name(), c.typeOid(), c.typmod(), key, catalog::describeType)
                    : PgTypes.column(c.name(), c.typeOid(), c.typmod(), typeNames.get(c.typeOid()), key));
        }
        return new TableSchema(new TableId(r.namespace(), r.name()), columns);
    }

    /**
     * Converts a tuple into a row in the Log's encoding, built with {@code encoder} (the caller's, one
     * per thread): most values go from the tuple's bytes into the row's without a {@code String}
     * ({@link TextValues#put}). Unchanged TOAST values become null and their column names are added
     * to {@code unchanged} (which may be null for old tuples, where the server never omits values).
     */
    static Row row(TableSchema schema, PgOutputMessage.Tuple tuple, Set<String> unchanged, RowEncoder encoder) {
        return row(schema, tuple, null, unchanged, encoder);
    }

    /**
     * {@link #row} of an update's new tuple, with {@code old} its old tuple (null when the server sent
     * none). A key column stored out of line that the update left alone comes as unchanged TOAST, and
     * the server then sends the old key too (the identity holds an external value): the key column
     * takes the old key's value, so that the row always has its key.
     */
    static Row row(TableSchema schema, PgOutputMessage.Tuple tuple, PgOutputMessage.Tuple old, Set<String> unchanged,
                   RowEncoder encoder) {
        encoder.reset();
        int n = Math.min(schema.size(), tuple.size());
        for (int i = 0; i < n; i++) {
            Column c = schema.column(i);
            if (tuple.unchanged(i) && c.key() && old != null && i < old.size() && !old.unchanged(i) && !old.isNull(i)) {
                put(c, old, i, encoder); // unchanged: the same value as the old key's
            } else if (tuple.unchanged(i)) {
                if (unchanged != null) {
                    unchanged.add(c.name());
                }
                encoder.putNull();
            } else {
                put(c, tuple, i, encoder);
            }
        }
        for (int i = n; i < schema.size(); i++) {
            encoder.putNull(); // a column added since the relation message: null, as before
        }
        return encoder.finish();
    }

    private static void put(Column c, PgOutputMessage.Tuple tuple, int i, RowEncoder encoder) {
        if (tuple.isNull(i)) {
            encoder.putNull();
        } else if (TextValues.takesBytes(c)) {
            TextValues.put(c, tuple.data(), tuple.start(i), tuple.length(i), encoder);
        } else {
            encoder.put(TextValues.convert(c, tuple.text(i)));
        }
    }
}
