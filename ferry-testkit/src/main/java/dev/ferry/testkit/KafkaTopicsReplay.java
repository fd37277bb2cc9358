package dev.ferry.testkit;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The replay check of the {@code kafka} sink: reads each table's topic ({@code <prefix>.<schema>.<table>})
 * as a {@code read_committed} consumer sees it, one partition after the other in each one's order
 * (every change of a key is in one partition, in order), writes the envelopes into the folders the
 * JSONL sink would (tombstones, the null values, are Kafka's, not events) and hands them to
 * {@link ReplayVerifier}, which applies them by key and compares with the source: nothing lost,
 * nothing duplicated, the last change of each key last.
 */
public final class KafkaTopicsReplay {
    /** What the topics held and how they compare with the source. */
    public record Result(ReplayVerifier.Result replay, long records, long streamed) {
    }

    private KafkaTopicsReplay() {
    }

    /**
     * Dumps the topics into {@code folder} (made when missing) and verifies them against {@code source}.
     *
     * @param tables {@code schema.table}
     */
    public static Result verify(TestingKafka broker, String prefix, List<String> tables, Path folder, Connection source)
            throws IOException, SQLException {
        long records = 0;
        long streamed = 0;
        for (String table : tables) {
            Path tableFolder = Files.createDirectories(folder.resolve(table));
            try (BufferedWriter out = Files.newBufferedWriter(tableFolder.resolve("00000000000000000000.jsonl"))) {
                for (ConsumerRecord<byte[], byte[]> r : broker.readCommitted(prefix + "." + table)) {
                    records++;
                    if (r.value() != null) {
                        String envelope = new String(r.value(), StandardCharsets.UTF_8);
                        streamed += envelope.startsWith("{\"op\":\"r\"") ? 0 : 1;
                        out.write(envelope);
                        out.write('\n');
                    }
                }
            }
        }
        return new Result(ReplayVerifier.verify(folder, source, tables), records, streamed);
    }
}
