package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.postgres.pgoutput.PgOutputMessage;
import java.sql.SQLException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RelationSchemasTest {
    private static final TableSchema DOCS = new TableSchema(new TableId("public", "docs"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("body", LogicalType.STRING, "text", false),
            Column.of("meta", LogicalType.JSON, "jsonb", false),
            Column.of("price", LogicalType.DECIMAL, "numeric", false)));

    @Test
    void unchangedToastColumnsAreNullAndListed() {
        PgOutputMessage.Tuple tuple = PgOutputMessage.Tuple.of(
                new String[] {"7", null, null, "12.50"}, new boolean[] {false, true, true, false});
        Set<String> unchanged = new LinkedHashSet<>();

        Row row = RelationSchemas.row(DOCS, tuple, unchanged, new dev.ferry.event.RowEncoder());

        assertThat(row).isEqualTo(Row.wrap(7L, null, null, "12.50"));
        assertThat(unchanged).containsExactly("body", "meta");
    }

    /**
     * A key stored out of line (a long text key): an update of another column sends the key in the
     * new tuple as unchanged TOAST and the old key beside it. The row keeps its key; a row without
     * one was taken for a key change (Kafka sent a tombstone for the key) or upserted under NULL.
     */
    @Test
    void anUnchangedKeyTakesTheOldKeysValue() {
        PgOutputMessage.Tuple oldKey = PgOutputMessage.Tuple.of(
                new String[] {"7", null, null, null}, new boolean[4]);
        PgOutputMessage.Tuple tuple = PgOutputMessage.Tuple.of(
                new String[] {null, null, null, "12.50"}, new boolean[] {true, true, false, false});
        Set<String> unchanged = new LinkedHashSet<>();

        Row row = RelationSchemas.row(DOCS, tuple, oldKey, unchanged, new dev.ferry.event.RowEncoder());

        assertThat(row).isEqualTo(Row.wrap(7L, null, null, "12.50"));
        assertThat(unchanged).as("a column that is no key stays unsent").containsExactly("body");
    }

    @Test
    void sqlNullIsNotUnchanged() {
        PgOutputMessage.Tuple tuple = PgOutputMessage.Tuple.of(
                new String[] {"7", null, "{\"a\": 1}", null}, new boolean[4]);
        Set<String> unchanged = new LinkedHashSet<>();

        Row row = RelationSchemas.row(DOCS, tuple, unchanged, new dev.ferry.event.RowEncoder());

        assertThat(row).isEqualTo(Row.wrap(7L, null, "{\"a\": 1}", null));
        assertThat(unchanged).isEmpty();
    }

    @Test
    void oldTuplesMayPassNoUnchangedSet() {
        PgOutputMessage.Tuple tuple = PgOutputMessage.Tuple.of(
                new String[] {"7", null, null, null}, new boolean[] {false, true, false, false});

        assertThat(RelationSchemas.row(DOCS, tuple, null, new dev.ferry.event.RowEncoder())).isEqualTo(Row.wrap(7L, null, null, null));
    }

    @Test
    void shorterTupleLeavesTrailingColumnsNull() {
        PgOutputMessage.Tuple tuple = PgOutputMessage.Tuple.of(new String[] {"7", "x"}, new boolean[2]);

        assertThat(RelationSchemas.row(DOCS, tuple, new LinkedHashSet<>(), new dev.ferry.event.RowEncoder())).isEqualTo(Row.wrap(7L, "x", null, null));
    }

    @Test
    void schemaFromRelationWithDefaultIdentityUsesItsKeyFlags() throws SQLException {
        PgOutputMessage.Relation relation = new PgOutputMessage.Relation(16384, "public", "orders", 'd', List.of(
                new PgOutputMessage.RelationColumn("id", 20, -1, true),
                new PgOutputMessage.RelationColumn("amount", 1700, ((12 << 16) | 2) + 4, false),
                new PgOutputMessage.RelationColumn("mood", 90001, -1, false)));

        // with replica identity default the catalog is not consulted
        TableSchema schema = RelationSchemas.of(relation, Map.of(90001, "public.mood"), null);

        assertThat(schema).isEqualTo(new TableSchema(new TableId("public", "orders"), List.of(
                Column.of("id", LogicalType.INT64, "bigint", true),
                Column.of("amount", LogicalType.DECIMAL, "numeric(12,2)", false),
                Column.of("mood", LogicalType.STRING, "public.mood", false))));
    }
}
