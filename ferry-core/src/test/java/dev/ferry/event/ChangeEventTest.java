package dev.ferry.event;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.TestPosition;
import dev.ferry.source.Position;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ChangeEventTest {
    private static final TableSchema DOCS = new TableSchema(new TableId("public", "docs"), List.of(
            Column.of("k", LogicalType.STRING, "text", true),
            Column.of("v", LogicalType.INT32, "integer", false)));

    private static final Position AT = new TestPosition(1);

    private static ChangeEvent update(Row before, Row after, Set<String> unchanged) {
        return new ChangeEvent(Op.UPDATE, DOCS, before, after, unchanged, AT, 7, Instant.EPOCH);
    }

    @Test
    void anUpdateToAnotherKeyChangesTheKey() {
        assertThat(update(Row.wrap("a", null), Row.wrap("b", 2L), Set.of()).keyChanged()).isTrue();
        assertThat(update(Row.wrap("a", 1L), Row.wrap("a", 2L), Set.of()).keyChanged()).isFalse();
        assertThat(update(null, Row.wrap("a", 2L), Set.of()).keyChanged()).isFalse();
    }

    /**
     * A primary key TOASTed out of line: PostgreSQL sends the old key (its identity has an external
     * value) and the key in the new tuple as unchanged ('u'), which is null in the row. The key is
     * the same; a sink that took it for a key change deleted the row's key (Kafka: a tombstone).
     */
    @Test
    void aKeyTheSourceDidNotSendIsUnchanged() {
        ChangeEvent e = update(Row.wrap("a long key", null), Row.wrap(null, 2L), Set.of("k"));

        assertThat(e.keyChanged()).isFalse();
    }
}
