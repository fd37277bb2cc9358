package dev.ferry.sink.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.config.ComponentConfig;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.testkit.PrivateKafka;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Kafka sink and records of a topic's size: what the topic takes is written with no producer
 * property, also past the producer's default {@code max.request.size} of 1 MB; small records whose
 * batches together pass a small topic's limit are all written; a record larger than its topic takes
 * is DATA naming its size, the limit and the setting, and leaves nothing of its batch.
 */
class KafkaSinkLargeRecordsIT {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    @RegisterExtension
    static final PrivateKafka KAFKA = new PrivateKafka();

    /** A sink whose topics take records of up to {@code maxMessageBytes}; {@code linger} the producer's linger.ms. */
    private static Sink sink(String pipeline, int maxMessageBytes, int linger) throws FerryException {
        String yaml = "type: kafka\nbootstrap_servers: " + KAFKA.broker().bootstrapServers() + "\n"
                + "topic_config: {max.message.bytes: '" + maxMessageBytes + "'}\n"
                + "properties: {max.block.ms: 5000, request.timeout.ms: 3000, delivery.timeout.ms: " + (linger + 8000)
                + ", linger.ms: " + linger + "}\n";
        return new KafkaSinkFactory().create(pipeline, ComponentConfig.ofYaml("sink", yaml), TestEvents.SOURCE);
    }

    /** An insert at {@code offset} of row {@code offset} whose jsonb column holds {@code padding} characters. */
    private static ChangeEvent wide(long offset, int padding) {
        return new ChangeEvent(Op.CREATE, TestEvents.ORDERS, null, Row.wrap(offset, "1.00",
                "{\"pad\": \"" + "x".repeat(padding) + "\"}", null, null, null), Set.of(),
                new TestEvents.Counter(offset), 7, Instant.EPOCH);
    }

    @Test
    void aRecordOfOneAndAHalfMegabytesReachesATopicThatTakesItWithoutProducerProperties() throws Exception {
        try (Sink sink = sink("big1", 3 * 1024 * 1024, 20)) {
            sink.write(List.of(TestEvents.insert(0, 0), wide(1, 1_500_000), TestEvents.insert(2, 2)), Offset.of(2));
            assertThat(sink.committed()).contains(Offset.of(2));
        }
        List<ConsumerRecord<byte[], byte[]>> records = KAFKA.broker().readCommitted("big1.public.orders");
        assertThat(records).hasSize(3);
        assertThat(MAPPER.readTree(records.get(1).value()).get("after").get("doc").get("pad").asText())
                .hasSize(1_500_000);
    }

    @Test
    void smallRecordsWhoseBatchesPassASmallTopicsLimitAllArriveAndALargerRecordIsData() throws Exception {
        List<ChangeEvent> small = new ArrayList<>();
        for (long o = 0; o < 1_000; o++) {
            small.add(wide(o, 1_000));
        }
        // the producer lingers until the commit flushes it: its batches are as full as batch.size lets them be
        try (Sink sink = sink("big2", 200 * 1024, 10_000)) {
            sink.write(small, Offset.of(999)); // 1 MB in one transaction, in batches no larger than the topic takes
            FerryException e = catchThrowableOfType(FerryException.class,
                    () -> sink.write(List.of(wide(1_000, 10), wide(1_001, 300_000), wide(1_002, 10)), Offset.of(1_002)));
            assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
            assertThat(e.getMessage()).contains("public.orders").contains("topic big2.public.orders, which takes at most "
                    + "204,800 (its max.message.bytes)").contains("the broker's message.max.bytes");
            assertThat(sink.committed()).contains(Offset.of(999));
            // the pipeline isolates the record: the rest of the batch goes on its own, on the same producer
            sink.write(List.of(wide(1_000, 10)), Offset.of(1_000));
            sink.write(List.of(), Offset.of(1_001));
            sink.write(List.of(wide(1_002, 10)), Offset.of(1_002));
            assertThat(sink.committed()).contains(Offset.of(1_002));
        }
        List<Long> ids = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : KAFKA.broker().readCommitted("big2.public.orders")) {
            ids.add(MAPPER.readTree(r.value()).get("after").get("id").asLong());
        }
        List<Long> expected = new ArrayList<>();
        for (long o = 0; o <= 1_002; o++) {
            if (o != 1_001) {
                expected.add(o);
            }
        }
        assertThat(ids).containsExactlyElementsOf(expected);
    }
}
