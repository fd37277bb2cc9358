package dev.ferry.sink.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.config.ComponentConfig;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.testkit.PrivateKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Kafka sink against a private broker: topics and keys, tombstones, one copy of a re-delivered
 * range, the committed offset exact after a producer died mid-transaction, and a broker that goes
 * away and comes back. Every read is a {@code read_committed} consumer's.
 */
class KafkaSinkIT {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    @RegisterExtension
    static final PrivateKafka KAFKA = new PrivateKafka();
    private static int pipelines;

    /** A sink of a pipeline of its own (its own topics and transactional id). */
    private static Sink sink(String pipeline, String extraYaml) throws FerryException {
        String yaml = "type: kafka\nbootstrap_servers: " + KAFKA.broker().bootstrapServers() + "\n"
                + (extraYaml.contains("properties:") ? ""
                : "properties: {max.block.ms: 5000, request.timeout.ms: 3000, delivery.timeout.ms: 8000}\n") + extraYaml;
        return new KafkaSinkFactory().create(pipeline, ComponentConfig.ofYaml("sink", yaml), TestEvents.SOURCE);
    }

    private static String newPipeline() {
        return "p" + (++pipelines);
    }

    @Test
    void writesOneTopicPerTableKeyedByPrimaryKeyWithTombstonesAfterDeletes() throws Exception {
        String p = newPipeline();
        try (Sink sink = sink(p, "")) {
            assertThat(sink.check()).allMatch(c -> c.status() == dev.ferry.source.Check.Status.OK);
            assertThat(sink.committed()).isEmpty();
            sink.write(List.of(TestEvents.insert(0, 1), TestEvents.insert(1, 2), TestEvents.update(2, 1),
                    TestEvents.delete(3, 2), TestEvents.updateKey(4, 1, 10)), Offset.of(4));
            assertThat(sink.committed()).contains(Offset.of(4));
        }

        List<ConsumerRecord<byte[], byte[]>> records = readCommitted(p + ".public.orders");
        List<String> seen = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            String op = r.value() == null ? "tombstone" : MAPPER.readTree(r.value()).get("op").asText();
            seen.add(new String(r.key()) + " " + op);
        }
        assertThat(seen).containsExactly("{\"id\":1} c", "{\"id\":2} c", "{\"id\":1} u", "{\"id\":2} d",
                "{\"id\":2} tombstone", "{\"id\":1} d", "{\"id\":1} tombstone", "{\"id\":10} c");
        JsonNode first = MAPPER.readTree(records.get(0).value());
        assertThat(first.get("after").get("amount").asText()).isEqualTo("0.50");
        assertThat(first.get("source").get("table").asText()).isEqualTo("orders");
    }

    @Test
    void aRedeliveredRangeLeavesOneCopyAndAnEmptyWriteMovesTheOffset() throws Exception {
        String p = newPipeline();
        try (Sink sink = sink(p, "tombstones: false")) {
            sink.write(events(0, 10), Offset.of(9));
        }
        try (Sink again = sink(p, "tombstones: false")) {
            assertThat(again.committed()).contains(Offset.of(9));
            again.write(events(5, 15), Offset.of(19)); // offsets 5..19, of which 5..9 are already there
            again.write(List.of(), Offset.of(25));
            assertThat(again.committed()).contains(Offset.of(25));
        }
        assertThat(lsns(readCommitted(p + ".public.orders"))).containsExactlyElementsOf(range(0, 20));
    }

    @Test
    void theOffsetOutlivesTheGroupsOffsetRetention() throws Exception {
        String p = newPipeline();
        try (Sink sink = sink(p, "")) {
            sink.write(events(0, 10), Offset.of(9));
        }
        // the broker deletes an idle group's offsets after offsets.retention.minutes (7 days by default)
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of(
                "bootstrap.servers", KAFKA.broker().bootstrapServers()))) {
            admin.deleteConsumerGroupOffsets("ferry." + p + "." + p,
                    java.util.Set.of(new TopicPartition("_ferry_offsets", 0))).all().get();
        }
        try (Sink restarted = sink(p, "")) {
            assertThat(restarted.committed()).as("read back from the compacted offsets topic").contains(Offset.of(9));
            restarted.write(events(5, 10), Offset.of(14)); // 5..9 again, then 10..14
            assertThat(restarted.committed()).contains(Offset.of(14));
        }
        assertThat(lsns(readCommitted(p + ".public.orders"))).containsExactlyElementsOf(range(0, 15));
    }

    @Test
    void committedIsExactAfterAProducerDiedInsideATransaction() throws Exception {
        String p = newPipeline();
        try (Sink sink = sink(p, "")) {
            sink.write(events(0, 5), Offset.of(4));
        }
        // a Ferry killed between its sends and its commit: the same transactional.id, a transaction left open
        KafkaProducer<byte[], byte[]> zombie = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "ferry." + p + "." + p),
                new ByteArraySerializer(), new ByteArraySerializer());
        zombie.initTransactions();
        zombie.beginTransaction();
        zombie.send(new ProducerRecord<>(p + ".public.orders", "{\"id\":99}".getBytes(), "{\"op\":\"c\"}".getBytes())).get();
        zombie.sendOffsetsToTransaction(Map.of(new TopicPartition("_ferry_offsets", 0), new OffsetAndMetadata(99)),
                new ConsumerGroupMetadata("ferry." + p + "." + p));
        zombie.flush();

        try (Sink restarted = sink(p, "")) {
            assertThat(restarted.committed()).contains(Offset.of(4));
            restarted.write(events(5, 5), Offset.of(9));
            assertThat(restarted.committed()).contains(Offset.of(9));
        } finally {
            zombie.close(Duration.ZERO);
        }
        assertThat(lsns(readCommitted(p + ".public.orders"))).containsExactlyElementsOf(range(0, 10));
    }

    @Test
    void aBrokerKilledUnderAWriteIsConnectivityAndTheRetryAfterItsRestartWritesOnce() throws Exception {
        String p = newPipeline();
        try (Sink sink = sink(p, "")) {
            sink.write(events(0, 5), Offset.of(4));
            KAFKA.broker().kill(); // SIGKILL: a broker that dies, not one that shuts down
            try {
                FerryException e = catchThrowableOfType(FerryException.class, () -> sink.write(events(5, 5), Offset.of(9)));
                assertThat(e).isNotNull();
                assertThat(e.kind()).isEqualTo(ErrorKind.CONNECTIVITY);
                assertThat(e.getMessage()).contains(KAFKA.broker().bootstrapServers());
            } finally {
                KAFKA.broker().resume();
            }
            sink.write(events(5, 5), Offset.of(9)); // the pipeline's retry of the same batch
            sink.write(events(8, 4), Offset.of(11));
            assertThat(sink.committed()).contains(Offset.of(11));
        }
        assertThat(lsns(readCommitted(p + ".public.orders"))).containsExactlyElementsOf(range(0, 12));
    }

    @Test
    void aRecordTheBrokerCanNeverTakeIsDataNamingTheTableAndItsBatchLeavesNothing() throws Exception {
        String p = newPipeline();
        try (Sink sink = sink(p, "properties: {max.request.size: 2000, max.block.ms: 5000}")) {
            sink.write(events(0, 2), Offset.of(1));
            ChangeEvent big = new ChangeEvent(dev.ferry.event.Op.CREATE, TestEvents.ORDERS, null,
                    dev.ferry.event.Row.wrap(2L, "1.00", "{\"pad\": \"" + "x".repeat(5000) + "\"}", null, null, null),
                    java.util.Set.of(), new TestEvents.Counter(2), 7, java.time.Instant.EPOCH);
            FerryException e = catchThrowableOfType(FerryException.class,
                    () -> sink.write(List.of(TestEvents.insert(2, 2), big), Offset.of(3)));
            assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
            assertThat(e.getMessage()).contains("public.orders").contains("max.request.size");
            assertThat(sink.committed()).contains(Offset.of(1));
            // the pipeline isolates the record: the rest of the batch goes on its own
            sink.write(List.of(TestEvents.insert(2, 2)), Offset.of(2));
            sink.write(List.of(), Offset.of(3));
            assertThat(sink.committed()).contains(Offset.of(3));
        }
        assertThat(lsns(readCommitted(p + ".public.orders"))).containsExactly(0L, 1L, 2L);
    }

    @Test
    void eachPartitionOfALogOfSeveralCommitsItsOwnOffsetUnderItsOwnTransactionalId() throws Exception {
        String p = newPipeline();
        try (Sink p0 = partitionSink(p, 0, 2); Sink p1 = partitionSink(p, 1, 2)) {
            assertThat(p0.committed()).isEmpty();
            p0.write(events(0, 5), Offset.of(4));
            assertThat(p1.committed()).as("partition 1 has its own offset").isEmpty();
            p1.write(List.of(TestEvents.insert(0, 100), TestEvents.insert(1, 101)), Offset.of(1));
            assertThat(p0.committed()).contains(Offset.of(4));
            assertThat(p1.committed()).contains(Offset.of(1));
            p1.write(List.of(new ChangeEvent(dev.ferry.event.Op.TRUNCATE, TestEvents.ORDERS, null, null,
                    java.util.Set.of(), new TestEvents.Counter(2), 7, java.time.Instant.EPOCH)), Offset.of(2));
        }
        try (Admin admin = admin()) {
            assertThat(admin.listConsumerGroupOffsets("ferry." + p + "." + p + "/1").partitionsToOffsetAndMetadata().get()
                    .get(new TopicPartition("_ferry_offsets", 0)).offset()).as("the group of <transactional_id>/1").isEqualTo(2);
        }
        try (Sink p0 = partitionSink(p, 0, 2); Sink whole = sink(p, "")) {
            assertThat(p0.committed()).contains(Offset.of(4));
            assertThat(whole.committed()).as("the sink of the unpartitioned Log keeps its own id").isEmpty();
        }
        List<String> seen = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(p + ".public.orders")) {
            // the Log partition of every record, so that a consumer can scope each partition's truncate
            org.apache.kafka.common.header.Header h = r.headers().lastHeader("ferry.log.partition");
            JsonNode v = MAPPER.readTree(r.value());
            seen.add((v.get("op").asText().equals("t") ? "t" : v.get("after").get("id").asText()) + "@"
                    + (h == null ? "-" : new String(h.value())));
        }
        assertThat(seen).containsExactly("0@0", "1@0", "2@0", "3@0", "4@0", "100@1", "101@1", "t@1");
    }

    @Test
    void aZombieWorkerOfAPartitionIsFencedByTheOneThatTookItOverAndNothingIsWrittenTwice() throws Exception {
        String p = newPipeline();
        try (Sink zombie = partitionSink(p, 3, 4); Sink successor = partitionSink(p, 3, 4)) {
            zombie.write(events(0, 5), Offset.of(4));
            // the zombie lost partition 3 in a long pause; the successor fences it and goes on
            assertThat(successor.committed()).contains(Offset.of(4));
            successor.write(events(3, 5), Offset.of(7)); // 3 and 4 again: skipped
            FerryException fenced = catchThrowableOfType(FerryException.class,
                    () -> zombie.write(events(5, 5), Offset.of(9)));
            assertThat(fenced).as("the zombie's write is fenced").isNotNull();
            assertThat(fenced.kind()).isEqualTo(ErrorKind.CONNECTIVITY);
            // its retry fences the successor in turn, re-reads the offset and writes only what is new
            zombie.write(events(5, 5), Offset.of(9));
            assertThat(zombie.committed()).contains(Offset.of(9));
        }
        assertThat(lsns(readCommitted(p + ".public.orders"))).containsExactlyElementsOf(range(0, 10));
    }

    /** The sink of one partition of a Log of {@code partitions}, as a sink worker makes it. */
    private static Sink partitionSink(String pipeline, int partition, int partitions) throws FerryException {
        String yaml = "type: kafka\nbootstrap_servers: " + KAFKA.broker().bootstrapServers() + "\ntombstones: false\n"
                + "properties: {max.block.ms: 5000, request.timeout.ms: 3000, delivery.timeout.ms: 8000}\n";
        return new KafkaSinkFactory().createForPartition(pipeline, ComponentConfig.ofYaml("sink", yaml), TestEvents.SOURCE,
                partition, partitions);
    }

    private static Admin admin() {
        return Admin.create(Map.of("bootstrap.servers", KAFKA.broker().bootstrapServers()));
    }

    @Test
    void peekingAtTheOffsetWhileATransactionIsOpenNeitherFencesNorCreatesTopics() throws Exception {
        String p = newPipeline();
        try (Sink sink = sink(p, "offsets_topic: _offsets_" + p)) {
            assertThat(sink.peekCommitted()).isEmpty();
        }
        assertThat(topicNames()).as("ferry status creates nothing").doesNotContain("_offsets_" + p);
        try (Sink sink = sink(p, "")) {
            sink.write(events(0, 5), Offset.of(4));
        }
        // a live sink inside a transaction (the same transactional.id), as a running worker is
        KafkaProducer<byte[], byte[]> live = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "ferry." + p + "." + p),
                new ByteArraySerializer(), new ByteArraySerializer());
        try {
            live.initTransactions();
            live.beginTransaction();
            live.send(new ProducerRecord<>(p + ".public.orders", "{\"id\":99}".getBytes(), "{\"op\":\"c\"}".getBytes()))
                    .get();
            live.sendOffsetsToTransaction(Map.of(new TopicPartition("_ferry_offsets", 0), new OffsetAndMetadata(5)),
                    new ConsumerGroupMetadata("ferry." + p + "." + p));
            live.flush();
            try (Sink status = sink(p, "")) {
                assertThat(status.peekCommitted()).as("the pending offset is not visible yet").contains(Offset.of(4));
                Thread.sleep(6_000); // longer than the 5 s a fencing read waits for a stable offset
                assertThat(status.peekCommitted()).contains(Offset.of(4));
            }
            live.commitTransaction(); // not fenced
        } finally {
            live.close(Duration.ZERO);
        }
        try (Sink status = sink(p, "")) {
            assertThat(status.peekCommitted()).contains(Offset.of(5));
        }
    }

    @Test
    void anOffsetsTopicThatDeletesOldRecordsIsMadeCompacted() throws Exception {
        // as a broker with auto.create.topics.enable made it when an earlier Ferry read it before it existed
        String p = newPipeline();
        String topic = "_offsets_" + p;
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.broker().bootstrapServers()))) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1)
                    .configs(Map.of("cleanup.policy", "delete")))).all().get();
            try (Sink sink = sink(p, "offsets_topic: " + topic)) {
                assertThat(sink.peekCommitted()).as("status only reads (and warns)").isEmpty();
                assertThat(policy(admin, topic)).isEqualTo("delete");
                sink.write(events(0, 1), Offset.of(0));
                assertThat(sink.committed()).contains(Offset.of(0));
            }
            assertThat(policy(admin, topic)).as("the sink set it when it wrote").isEqualTo("compact");
        }
    }

    private static String policy(Admin admin, String topic) throws Exception {
        org.apache.kafka.common.config.ConfigResource r = new org.apache.kafka.common.config.ConfigResource(
                org.apache.kafka.common.config.ConfigResource.Type.TOPIC, topic);
        return admin.describeConfigs(List.of(r)).all().get().get(r).get("cleanup.policy").value();
    }

    private static java.util.Set<String> topicNames() throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.broker().bootstrapServers()))) {
            return admin.listTopics().names().get();
        }
    }

    @Test
    void reservedAndMalformedSettingsAreConfigErrors() {
        FerryException reserved = catchThrowableOfType(FerryException.class,
                () -> sink(newPipeline(), "properties: {transactional.id: x}").close());
        assertThat(reserved.kind()).isEqualTo(ErrorKind.CONFIG);
        assertThat(reserved.getMessage()).contains("transactional.id").contains("transactional_id");
        FerryException prefix = catchThrowableOfType(FerryException.class,
                () -> sink(newPipeline(), "topic_prefix: 'a b'").close());
        assertThat(prefix.kind()).isEqualTo(ErrorKind.CONFIG);
    }

    /** Inserts at offsets {@code first..first+count-1}, each its own row keyed by the offset. */
    private static List<ChangeEvent> events(long first, int count) {
        List<ChangeEvent> out = new ArrayList<>();
        for (long o = first; o < first + count; o++) {
            out.add(TestEvents.insert(o, o));
        }
        return out;
    }

    private static List<Long> range(long from, long to) {
        List<Long> out = new ArrayList<>();
        for (long i = from; i < to; i++) {
            out.add(i);
        }
        return out;
    }

    private static List<Long> lsns(List<ConsumerRecord<byte[], byte[]>> records) throws Exception {
        List<Long> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            out.add(MAPPER.readTree(r.value()).get("source").get("lsn").asLong());
        }
        return out;
    }

    private static List<ConsumerRecord<byte[], byte[]>> readCommitted(String topic) {
        return KAFKA.broker().readCommitted(topic);
    }

}
