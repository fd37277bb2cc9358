package dev.ferry.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
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
}
