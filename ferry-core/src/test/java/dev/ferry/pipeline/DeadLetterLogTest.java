package dev.ferry.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.log.Offset;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dead-letter log on its own: what one entry holds, however large its event. */
class DeadLetterLogTest {
    @TempDir
    Path dir;

    @Test
    void aChangeOfTwentyMegabytesIsAddedListedAndReadBackWhole() throws Exception {
        // a sink refused it as too large (a Kafka topic's max.message.bytes): the very case of a wide row
        String text = "0123456789abcdef".repeat(21 * 1024 * 1024 / 16);
        ChangeEvent event = new ChangeEvent(Op.CREATE, ScriptedSource.W, null, Row.wrap(7L, text), Set.of(),
                new ScriptedSource.Seq(7), 7, Instant.EPOCH);
        DeadLetterLog dlq = new DeadLetterLog(dir, ScriptedSource.CODEC);
        dlq.add("kafka", Offset.of(6), event, new FerryException(ErrorKind.DATA, "too large for its topic", null),
                new ScriptedSource(0, 1).info());

        List<DeadLetterLog.Entry> entries = dlq.list();
        assertThat(entries).extracting(DeadLetterLog.Entry::id).containsExactly("kafka/6");
        assertThat(entries.get(0).envelope().path("after").path("pad").asText()).isEqualTo(text);
        assertThat(dlq.event(entries.get(0)).after().get(1)).isEqualTo(text);
    }

    @Test
    void jsonbBeyondJacksonsDefaultLimitsIsReadBackAndTheOtherEntriesStillList() throws Exception {
        // PostgreSQL's jsonb takes what Jackson by default refuses to read: 1,500 digits, 1,500 levels, a 60,000-character key
        String json = "{\"n\": " + "9".repeat(1500) + ", \"deep\": " + "[".repeat(1500) + "]".repeat(1500) + ", \""
                + "k".repeat(60_000) + "\": 1}";
        TableSchema docs = new TableSchema(new TableId("public", "docs"), List.of(
                Column.of("id", LogicalType.INT64, "bigint", true), Column.of("doc", LogicalType.JSON, "jsonb", false)));
        DeadLetterLog dlq = new DeadLetterLog(dir, ScriptedSource.CODEC);
        for (long n = 1; n <= 2; n++) {
            ChangeEvent event = new ChangeEvent(Op.CREATE, docs, null, Row.wrap(n, n == 1 ? json : "{}"), Set.of(),
                    new ScriptedSource.Seq(n), n, Instant.EPOCH);
            dlq.add("duck", Offset.of(n), event, new FerryException(ErrorKind.DATA, "refused", null),
                    new ScriptedSource(0, 1).info());
        }

        List<DeadLetterLog.Entry> entries = dlq.list();
        assertThat(entries).extracting(DeadLetterLog.Entry::id).containsExactly("duck/1", "duck/2");
        assertThat(dlq.event(entries.get(0)).after().get(1).toString()).isEqualTo(json);
        assertThat(DeadLetterLog.MAPPER.writeValueAsString(entries.get(0).envelope())).contains("9".repeat(1500));
    }
}
