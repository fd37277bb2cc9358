package dev.ferry.sink.kafka;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.TableId;
import dev.ferry.log.CrashPoints;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes change events to Kafka, one topic per table, exactly once for {@code read_committed}
 * consumers.
 *
 * <h2>Design notes</h2>
 * <ul>
 *   <li><b>One write, one transaction.</b> {@link #write} sends its records and the batch's last Log
 *   offset in one Kafka transaction of a transactional producer: the offset is committed, through
 *   {@code sendOffsetsToTransaction}, as the committed offset of partition 0 of the offsets topic
 *   ({@code offsets_topic}) in the consumer group named like the {@code transactional_id}, and
 *   again as a record of that compacted topic keyed by the {@code transactional_id}, which the
 *   sink reads only when the group's offset expired ({@code offsets.retention.minutes} without a
 *   commit). Records and offset become visible together or not at all (KIP-98,
 *   KIP-447), so the offset read back is exactly the last event a {@code read_committed} consumer
 *   can see.</li>
 *   <li><b>Fencing before writing.</b> The producer is made, and {@code initTransactions} called,
 *   before the first write and again after every failure. With the stable {@code transactional.id}
 *   that fences any earlier producer of this sink (a Ferry killed mid-transaction, or this instance
 *   after an error) and makes the coordinator finish its open transaction, commit if it had been
 *   decided, abort otherwise. Only then is the committed offset read, with {@code requireStable}:
 *   exact. Events at or below it are skipped, so a re-delivered range leaves one copy.</li>
 *   <li><b>Failure.</b> A failure inside a write is classified by {@link KafkaFailures}. A record
 *   that can never be written (DATA: larger than its topic takes, see {@link RecordSizes}) aborts
 *   the transaction at once and keeps the producer, so the pipeline's halving of the batch to
 *   isolate the record costs no fencing. Any other failure abandons the producer (its transaction
 *   is aborted by the next fencing); a broker that cannot be reached is CONNECTIVITY and the pipeline
 *   retries, which re-fences and re-reads. An uncertain outcome
 *   (a commit that timed out) is therefore settled by the broker, never guessed.</li>
 *   <li><b>Sizes.</b> Before a write's transaction its topics exist and their {@code max.message.bytes}
 *   is known ({@link RecordSizes}); the producer is made anew when they call for another
 *   {@code max.request.size}, {@code buffer.memory} or {@code batch.size}.</li>
 *   <li><b>{@link #committed} before the first write</b> reads the offset with {@code requireStable},
 *   which waits while a transaction is pending; a transaction pending longer than
 *   {@link #STABLE_WAIT} belongs to a Ferry that died, and the sink fences it to settle it.</li>
 *   <li><b>{@link #peekCommitted}</b> ({@code ferry status}, {@code ferry dlq replay}) never fences
 *   and creates no topic: it reads the group's offset without {@code requireStable}, where an offset
 *   a pending transaction commits is invisible until the transaction's marker, exactly what a
 *   {@code read_committed} consumer of the topics sees.</li>
 *   <li><b>Order.</b> Each record's key is its row's primary key, so all changes of a row go to one
 *   partition in Log order (an idempotent producer keeps order across retries). A change of the key
 *   itself is written as Debezium does: a delete of the old key (and its tombstone), then a create.
 *   A truncate goes to every partition of the table's topic, with a null key. Of a Log of several
 *   partitions every record carries {@link #LOG_PARTITION_HEADER}.</li>
 * </ul>
 */
final class KafkaSink implements Sink {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaSink.class);
    /** Properties the sink sets itself. */
    static final List<String> RESERVED_PROPERTIES = List.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG,
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);
    /**
     * The producer's batching, unless {@code properties:} says otherwise: a write is a transaction of up
     * to 8,192 records sent at once, and the commit flushes whatever lingers, so larger batches than the
     * client's defaults (16 KiB, 5 ms) cost no latency. Measured (docs/kafka-benchmarks.md, 2026-12-01):
     * 27,015 events/s with the defaults, 40,509 with these, as fast as Kafka's producer tool with them.
     */
    static final Map<String, Object> BATCHING = Map.of(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024,
            ProducerConfig.LINGER_MS_CONFIG, 20);
    private static final Duration STABLE_WAIT = Duration.ofSeconds(5);
    private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);
    private static final String METADATA_PREFIX = "ferry pipeline ";

    /** The sink's configuration; see {@link KafkaSinkFactory} for each key. */
    record Settings(String pipeline, String bootstrapServers, String topicPrefix, String transactionalId,
                    String offsetsTopic, boolean tombstones, boolean createTopics, Optional<Integer> partitions,
                    Optional<Short> replicationFactor, Map<String, String> topicConfig, Map<String, String> properties,
                    int transactionTimeoutMs, int logPartition, int logPartitions) {
    }

    /**
     * The header naming the Log partition a record came through, on every record of a sink of a Log of
     * several partitions: a truncate is written once per Log partition, ordered only against that
     * partition's keys, so a consumer scopes it to the rows whose records carry the same value.
     */
    static final String LOG_PARTITION_HEADER = "ferry.log.partition";

    private final Settings settings;
    private final RecordEncoder encoder;
    private final TopicPartition marker;
    private final Topics topics;
    private final RecordSizes sizes;
    /** The sizes {@link #producer} was made with ({@link RecordSizes#producerSizes}). */
    private Map<String, Object> producerSizes;
    /** The {@link #LOG_PARTITION_HEADER} of every record; empty for a Log of one partition. */
    private final List<org.apache.kafka.common.header.Header> headers;
    private final org.apache.kafka.common.header.Header[] headerArray;
    private Admin admin;
    /** Null until fenced, and again after a failure. */
    private Producer<byte[], byte[]> producer;
    /** The committed offset; exact while {@link #producer} is not null. -1 for none. */
    private long committedOffset = -1;

    KafkaSink(Settings settings, RecordEncoder encoder) {
        this.settings = settings;
        this.encoder = encoder;
        this.marker = new TopicPartition(settings.offsetsTopic(), 0);
        this.topics = new Topics(settings, this::admin, ADMIN_TIMEOUT);
        this.sizes = new RecordSizes(settings, this::admin, ADMIN_TIMEOUT);
        this.headers = settings.logPartitions() <= 1 ? List.of()
                : List.of(new org.apache.kafka.common.header.internals.RecordHeader(LOG_PARTITION_HEADER,
                        Integer.toString(settings.logPartition()).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        this.headerArray = headers.toArray(new org.apache.kafka.common.header.Header[0]);
    }

    @Override
    public List<Check> check() {
        try {
            String cluster = admin().describeCluster().clusterId().get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            int brokers = admin().describeCluster().nodes().get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).size();
            return List.of(Check.ok("Kafka", "cluster " + cluster + " at " + settings.bootstrapServers() + ", "
                    + brokers + " broker(s); topics " + settings.topicPrefix() + ".<schema>.<table>, transactional_id "
                    + settings.transactionalId()));
        } catch (Exception e) {
            FerryException f = KafkaFailures.classify(e, "describing the cluster", settings.bootstrapServers(), null);
            return List.of(Check.problem("Kafka", f.getMessage(), "Start the brokers or fix bootstrap_servers and properties."));
        }
    }

    @Override
    public Optional<Offset> committed() throws FerryException {
        if (producer == null) {
            Long stable = readCommitted(STABLE_WAIT);
            if (stable != null) {
                committedOffset = stable;
            } else {
                // a transaction still pending: its producer died; fencing settles it, then the read is exact
                LOG.info("Kafka sink {}: a transaction of an earlier run is still open; fencing it", settings.transactionalId());
                fence();
            }
        }
        return committedOffset < 0 ? Optional.empty() : Optional.of(Offset.of(committedOffset));
    }

    @Override
    public Optional<Offset> peekCommitted() throws FerryException {
        if (producer != null) {
            return committed();
        }
        String group = settings.transactionalId();
        long offset;
        try {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin().listConsumerGroupOffsets(
                    Map.of(group, new ListConsumerGroupOffsetsSpec().topicPartitions(List.of(marker))),
                    new ListConsumerGroupOffsetsOptions().requireStable(false))
                    .partitionsToOffsetAndMetadata(group).get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            offset = offsetOf(offsets.get(marker));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw KafkaFailures.classify(e, "reading the committed offset of group " + group, settings.bootstrapServers(),
                    null);
        } catch (FerryException e) {
            throw e;
        } catch (Exception e) {
            throw KafkaFailures.classify(e, "reading the committed offset of group " + group, settings.bootstrapServers(),
                    null);
        }
        if (offset < 0) {
            offset = offsetFromRecords();
        }
        return offset < 0 ? Optional.empty() : Optional.of(Offset.of(offset));
    }

    @Override
    public void write(List<ChangeEvent> events, Offset last) throws FerryException {
        // the batch's topics exist and their limits are known before its transaction: a topic that takes
        // larger records than the producer was made for (or smaller batches) makes a new producer
        java.util.Set<String> batchTopics = new java.util.HashSet<>();
        for (ChangeEvent e : events) {
            batchTopics.add(topics.of(e.table()));
        }
        for (String topic : batchTopics) {
            topics.ensure(topic);
            sizes.learn(topic, topics.known(topic));
        }
        if (producer == null || !sizes.producerSizes(batchSize()).equals(producerSizes)) {
            fence();
        }
        long first = last.value() - events.size() + 1;
        if (first <= committedOffset) {
            int skip = (int) Math.min(events.size(), committedOffset - first + 1);
            events = events.subList(skip, events.size());
            if (events.isEmpty() && last.value() <= committedOffset) {
                return;
            }
        }
        SendFailure failure = new SendFailure();
        String doing = "writing offsets " + (last.value() - events.size() + 1) + ".." + last.value();
        try {
            producer.beginTransaction();
            long now = System.currentTimeMillis();
            for (ChangeEvent e : events) {
                send(e, now, failure);
            }
            // the offset twice in the same transaction: in the group (exact, settled by fencing) and as a
            // record of the compacted offsets topic, which outlives the group's offset retention
            producer.send(new ProducerRecord<>(settings.offsetsTopic(), 0, offsetRecordKey(),
                    offsetRecordValue(last.value())), failure.callbackFor(null));
            producer.sendOffsetsToTransaction(Map.of(marker, new OffsetAndMetadata(last.value(),
                    METADATA_PREFIX + settings.pipeline())), new ConsumerGroupMetadata(settings.transactionalId()));
            CrashPoints.reach("kafka.before-commit");
            producer.commitTransaction();
        } catch (FerryException | RuntimeException e) {
            FerryException classified = e instanceof FerryException f ? f : KafkaFailures.classify(
                    failure.first != null ? failure.first : e, doing, settings.bootstrapServers(), failure.record);
            // a refused record: the broker is there, so abort now (read_committed consumers are not held back
            // until the next write fences the transaction) and keep the producer, which the pipeline's
            // halving of the batch to isolate the record then uses without fencing again
            if (classified.kind() != ErrorKind.DATA || !abortTransaction()) {
                abandonProducer();
            }
            throw classified;
        }
        committedOffset = last.value();
        LOG.debug("Kafka sink {}: committed {} events up to offset {}", settings.transactionalId(), events.size(), last);
    }

    private void send(ChangeEvent e, long now, SendFailure failure) throws FerryException {
        String topic = topics.of(e.table());
        if (e.op() == Op.TRUNCATE) {
            byte[] value = encoder.value(e, topic, now);
            Callback callback = checked(topic, e.table(), null, value, failure);
            int partitions = producer.partitionsFor(topic).size();
            for (int p = 0; p < partitions; p++) {
                producer.send(new ProducerRecord<>(topic, p, (byte[]) null, value, headers), callback);
            }
            return;
        }
        if (e.keyChanged()) {
            send(new ChangeEvent(Op.DELETE, e.schema(), e.before(), null, Set.of(), e.position(), e.txId(),
                    e.committedAt()), now, failure);
            send(new ChangeEvent(Op.CREATE, e.schema(), null, e.after(), e.unchanged(), e.position(), e.txId(),
                    e.committedAt()), now, failure);
            return;
        }
        byte[] key = encoder.key(e, topic);
        byte[] value = encoder.value(e, topic, now);
        Callback callback = checked(topic, e.table(), key, value, failure);
        producer.send(new ProducerRecord<>(topic, null, key, value, headers), callback);
        if (e.op() == Op.DELETE && settings.tombstones() && key != null) {
            producer.send(new ProducerRecord<>(topic, null, key, (byte[]) null, headers), callback);
        }
    }

    /**
     * Refuses a record larger than its topic or the producer takes (DATA, naming the size, the limit
     * and the setting), before it is sent; else the callback of its send.
     */
    private Callback checked(String topic, TableId table, byte[] key, byte[] value, SendFailure failure)
            throws FerryException {
        FerryException tooLarge = sizes.tooLarge(topic, table, key, value, headerArray, producerSizes);
        if (tooLarge != null) {
            throw tooLarge;
        }
        return failure.callbackFor(table + " (topic " + topic + ", a record of "
                + String.format("%,d", (key == null ? 0 : key.length) + (value == null ? 0 : value.length)) + " bytes)");
    }

    /** Aborts the open transaction; false when the producer cannot go on (it is then abandoned). */
    private boolean abortTransaction() {
        try {
            producer.abortTransaction();
            return true;
        } catch (RuntimeException abortFailed) {
            LOG.debug("aborting after a record was refused", abortFailed);
            return false;
        }
    }

    /** The producer's {@code batch.size} unless a topic takes less: BATCHING's. */
    private static int batchSize() {
        return (Integer) BATCHING.get(ProducerConfig.BATCH_SIZE_CONFIG);
    }

    /**
     * Makes the transactional producer and fences every earlier one of this sink, which settles
     * their open transaction; then reads the committed offset, now exact.
     */
    private void fence() throws FerryException {
        abandonProducer();
        topics.ensureOffsetsTopic();
        Producer<byte[], byte[]> p;
        Map<String, Object> madeWith = sizes.producerSizes(batchSize());
        try {
            p = new KafkaProducer<>(producerProperties(madeWith), new ByteArraySerializer(), new ByteArraySerializer());
        } catch (RuntimeException e) {
            throw KafkaFailures.classify(e, "creating the producer", settings.bootstrapServers(), null);
        }
        try {
            p.initTransactions();
        } catch (RuntimeException e) {
            p.close(Duration.ZERO);
            throw KafkaFailures.classify(e, "starting transactions (transactional_id " + settings.transactionalId() + ")",
                    settings.bootstrapServers(), null);
        }
        producer = p;
        producerSizes = madeWith;
        Long stable;
        try {
            stable = readCommitted(ADMIN_TIMEOUT);
        } catch (FerryException e) {
            abandonProducer();
            throw e;
        }
        if (stable == null) {
            abandonProducer();
            throw new FerryException(ErrorKind.CONNECTIVITY, "The committed offset of the Kafka sink "
                    + settings.transactionalId() + " is still unstable " + ADMIN_TIMEOUT.toSeconds() + " s after "
                    + "fencing: a transaction that commits it is still open. It is retried.");
        }
        committedOffset = stable;
        LOG.info("Kafka sink {}: transactions ready; committed offset {}; records of up to {} bytes (max.request.size)",
                settings.transactionalId(), committedOffset < 0 ? "none" : committedOffset,
                String.format("%,d", ((Number) madeWith.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)).longValue()));
    }

    /**
     * The offset committed in the sink's group, waiting at most {@code wait} while a transaction
     * that commits to it is pending. The Admin client leaves a partition out of its answer when the
     * broker says its offset is unstable (UNSTABLE_OFFSET_COMMIT), and maps it to null when nothing
     * was ever committed: only a present key is an answer.
     *
     * @return the offset, -1 for none, or null when it is still unstable after {@code wait}
     */
    private Long readCommitted(Duration wait) throws FerryException {
        String group = settings.transactionalId();
        String doing = "reading the committed offset of group " + group;
        long deadline = System.nanoTime() + wait.toNanos();
        try {
            while (true) {
                Map<TopicPartition, OffsetAndMetadata> offsets = admin().listConsumerGroupOffsets(
                        Map.of(group, new ListConsumerGroupOffsetsSpec().topicPartitions(List.of(marker))),
                        new ListConsumerGroupOffsetsOptions().requireStable(true))
                        .partitionsToOffsetAndMetadata(group).get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                if (offsets.containsKey(marker)) {
                    long offset = offsetOf(offsets.get(marker));
                    return offset >= 0 ? offset : offsetFromRecords();
                }
                if (System.nanoTime() > deadline) {
                    return null;
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw KafkaFailures.classify(e, doing, settings.bootstrapServers(), null);
        } catch (FerryException e) {
            throw e;
        } catch (Exception e) {
            throw KafkaFailures.classify(e, doing, settings.bootstrapServers(), null);
        }
    }

    private byte[] offsetRecordKey() {
        return settings.transactionalId().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private byte[] offsetRecordValue(long offset) {
        return ("{\"pipeline\":\"" + settings.pipeline() + "\",\"offset\":" + offset + "}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * The offset in the sink's last committed record of the offsets topic, or -1 when there is none.
     * Asked only when the group holds no offset: the broker deletes a group's offsets once they are
     * older than {@code offsets.retention.minutes} (7 days by default) and nothing was committed
     * since (a batch pipeline run weekly, a quiet stream), while the compacted topic keeps the last
     * record of each key. Reading it with {@code read_committed} up to the last stable offset sees
     * exactly the committed transactions.
     */
    private long offsetFromRecords() throws FerryException {
        if (!topics.offsetsTopicExists()) {
            return -1;
        }
        Map<String, Object> props = new HashMap<>();
        for (Map.Entry<String, String> e : settings.properties().entrySet()) {
            if (org.apache.kafka.clients.consumer.ConsumerConfig.configNames().contains(e.getKey())) {
                props.put(e.getKey(), e.getValue());
            }
        }
        props.put(org.apache.kafka.clients.consumer.ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        props.put(org.apache.kafka.clients.consumer.ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(org.apache.kafka.clients.consumer.ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // never make the topic by reading it: a broker's auto-creation would make it with the delete policy
        props.put(org.apache.kafka.clients.consumer.ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        props.put(org.apache.kafka.clients.consumer.ConsumerConfig.CLIENT_ID_CONFIG, "ferry-" + settings.pipeline()
                + "-offsets");
        byte[] key = offsetRecordKey();
        long found = -1;
        try (org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> consumer =
                     new org.apache.kafka.clients.consumer.KafkaConsumer<>(props,
                             new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                             new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            consumer.assign(List.of(marker));
            consumer.seekToBeginning(List.of(marker));
            long end = consumer.endOffsets(List.of(marker), ADMIN_TIMEOUT).get(marker);
            long deadline = System.nanoTime() + ADMIN_TIMEOUT.toNanos();
            while (consumer.position(marker, ADMIN_TIMEOUT) < end) {
                if (System.nanoTime() > deadline) {
                    throw new FerryException(ErrorKind.CONNECTIVITY, "Reading the offsets topic "
                            + settings.offsetsTopic() + " took longer than " + ADMIN_TIMEOUT.toSeconds() + " s.");
                }
                for (org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> r
                        : consumer.poll(Duration.ofMillis(500))) {
                    if (r.value() != null && java.util.Arrays.equals(r.key(), key)) {
                        found = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.value()).path("offset")
                                .asLong(-1);
                    }
                }
            }
        } catch (FerryException e) {
            throw e;
        } catch (Exception e) {
            throw KafkaFailures.classify(e, "reading the offsets topic " + settings.offsetsTopic(),
                    settings.bootstrapServers(), null);
        }
        if (found >= 0) {
            LOG.warn("Kafka sink {}: the consumer group's offset is gone (expired after offsets.retention.minutes "
                    + "without a commit); the offsets topic {} holds offset {}, which is used", settings.transactionalId(),
                    settings.offsetsTopic(), found);
        }
        return found;
    }

    private long offsetOf(OffsetAndMetadata committed) throws FerryException {
        if (committed == null) {
            return -1;
        }
        String owner = committed.metadata();
        if (owner != null && owner.startsWith(METADATA_PREFIX)
                && !owner.substring(METADATA_PREFIX.length()).equals(settings.pipeline())) {
            throw FerryException.config("The Kafka consumer group " + settings.transactionalId() + " holds the "
                    + "offset of pipeline " + owner.substring(METADATA_PREFIX.length()) + ", not " + settings.pipeline()
                    + ". Give this sink its own transactional_id.");
        }
        return committed.offset();
    }

    /** The producer's configuration; {@code sizes} from {@link RecordSizes#producerSizes}, {@code properties:} over all. */
    private Map<String, Object> producerProperties(Map<String, Object> sizes) {
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "ferry-" + settings.pipeline());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.putAll(BATCHING);
        props.putAll(sizes);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
        for (Map.Entry<String, String> e : settings.properties().entrySet()) {
            if (ProducerConfig.configNames().contains(e.getKey())) {
                props.put(e.getKey(), e.getValue());
            }
        }
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, settings.transactionalId());
        props.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, settings.transactionTimeoutMs());
        return props;
    }

    private Admin admin() {
        if (admin == null) {
            Map<String, Object> props = new HashMap<>();
            props.put(AdminClientConfig.CLIENT_ID_CONFIG, "ferry-" + settings.pipeline() + "-admin");
            props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
            props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) ADMIN_TIMEOUT.toMillis());
            for (Map.Entry<String, String> e : settings.properties().entrySet()) {
                if (AdminClientConfig.configNames().contains(e.getKey())) {
                    props.put(e.getKey(), e.getValue());
                }
            }
            props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
            admin = Admin.create(props);
        }
        return admin;
    }

    /** Drops the producer without committing: its open transaction is aborted when the next one fences it. */
    private void abandonProducer() {
        if (producer != null) {
            KafkaClients.close(producer, Duration.ZERO);
            producer = null;
        }
    }

    @Override
    public void close() {
        if (producer != null) {
            KafkaClients.close(producer, Duration.ofSeconds(5));
            producer = null;
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
            admin = null;
        }
    }

    /** The first failed send of a transaction and its record: the cause a failed commit reports. */
    private static final class SendFailure {
        private volatile Exception first;
        private volatile String record;

        /** @param what the record, for the message ("public.orders (topic shop.public.orders, ...)"); null: the offset record */
        Callback callbackFor(String what) {
            return (metadata, exception) -> {
                if (exception != null && first == null) {
                    first = exception;
                    record = what;
                }
            };
        }
    }
}
