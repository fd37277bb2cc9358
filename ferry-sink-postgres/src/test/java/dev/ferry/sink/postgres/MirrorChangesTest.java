package dev.ferry.sink.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MirrorChangesTest {
    private static final TableSchema SCHEMA = new TableSchema(new TableId("public", "t"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true), Column.of("small", LogicalType.STRING, "text", false),
            Column.of("big", LogicalType.STRING, "text", false)));

    private static ChangeEvent event(Op op, Row before, Row after, Set<String> unchanged) {
        return new ChangeEvent(op, SCHEMA, before, after, unchanged, new PostgresSinkWriteIT.Seq(0), 1, Instant.EPOCH);
    }

    private static List<String> collapse(ChangeEvent... events) throws Exception {
        MirrorChanges m = new MirrorChanges(SCHEMA);
        long offset = 0;
        for (ChangeEvent e : events) {
            m.add(e, offset++);
        }
        List<String> out = new ArrayList<>();
        for (MirrorChanges.Change c : m.changes()) {
            out.add((c.delete() ? "delete " : "upsert ") + java.util.Arrays.toString(c.values()) + " keep " + c.unchanged()
                    + " @" + c.offset());
        }
        return out;
    }

    @Test
    void theLastChangeOfAKeyWinsAndAKeyChangeDeletesTheOldKey() throws Exception {
        assertThat(collapse(
                event(Op.CREATE, null, Row.wrap(1L, "a", "A"), Set.of()),
                event(Op.UPDATE, null, Row.wrap(1L, "b", "B"), Set.of()),
                event(Op.CREATE, null, Row.wrap(2L, "x", "X"), Set.of()),
                event(Op.UPDATE, Row.wrap(2L, null, null), Row.wrap(3L, "x", "X"), Set.of()),
                event(Op.DELETE, Row.wrap(1L, null, null), null, Set.of()),
                event(Op.CREATE, null, Row.wrap(2L, "again", "G"), Set.of())))
                .containsExactly("upsert [3, x, X] keep {} @3", "delete [1, null, null] keep {} @4",
                        "upsert [2, again, G] keep {} @5");
    }

    @Test
    void anUnchangedColumnTakesAnEarlierValueOfTheSameKeyOrStaysAsItIs() throws Exception {
        assertThat(collapse(
                event(Op.CREATE, null, Row.wrap(1L, "a", "large"), Set.of()),
                event(Op.UPDATE, null, Row.wrap(1L, "b", null), Set.of("big")),
                event(Op.UPDATE, null, Row.wrap(2L, "c", null), Set.of("big"))))
                .containsExactly("upsert [1, b, large] keep {} @1", "upsert [2, c, null] keep {2} @2");
    }
}
