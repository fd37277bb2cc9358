package dev.ferry.sink.kafka;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.TableId;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How large the sink's records may be: each topic's limit, the producer's sizes that follow from
 * them, and the refusal of a record its topic would not take.
 *
 * <h2>Design notes</h2>
 * <ul>
 *   <li><b>The topic decides.</b> A broker takes a record batch of at most the topic's
 *   {@code max.message.bytes} (whose default is the broker's {@code message.max.bytes}, about 1 MB).
 *   Each topic's effective value is read once, with DescribeConfigs, when the sink first writes to it.
 *   The producer's own bound, {@code max.request.size} (1 MB by default), is set to the largest limit
 *   of the topics written so far, so a change of 1.5 MB reaches a topic that takes 4 MB without any
 *   producer property; a topic with a larger limit than the producer was made for makes the sink
 *   make a new producer before the write.</li>
 *   <li><b>Refused before it is sent.</b> A record larger than its topic takes (the size the broker
 *   measures: the record and its batch's header, uncompressed) is refused by the sink before it is
 *   sent, as an error of kind DATA naming the size, the limit and the settings to raise; the pipeline
 *   rolls the batch back, isolates the record and applies {@code record_errors}. With
 *   {@code compression.type} set the broker measures the compressed batch, which the sink cannot
 *   know beforehand: then the broker decides, and its refusal is DATA as well.</li>
 *   <li><b>Heap.</b> {@code buffer.memory} (the producer's memory for records not yet sent, 32 MiB by
 *   default) must hold one record of {@code max.request.size}, so it is raised to it when smaller; it
 *   is a bound, not an allocation. What the producer holds is bounded by one write of the sink, which
 *   Delivery bounds by {@code batch_bytes} (32 MiB of the Log's encoding), since each write commits,
 *   and so flushes, its transaction. {@code batch.size} (256 KiB, a buffer per partition that pools
 *   and is kept) is lowered to the smallest limit of the topics, so that a batch of many small records
 *   is never larger than its topic takes; a record larger than {@code batch.size} gets a buffer of its
 *   own, freed once sent.</li>
 *   <li><b>Not allowed to read the limit</b> (no DescribeConfigs right): the sink assumes
 *   {@link #UNREADABLE_LIMIT} for {@code max.request.size}, says so once at INFO, and lets the
 *   broker refuse what the topic does not take.</li>
 *   <li>What {@code properties:} sets ({@code max.request.size}, {@code buffer.memory},
 *   {@code batch.size}) is the user's and is kept; a record larger than it is refused naming it.</li>
 * </ul>
 */
final class RecordSizes {
    private static final Logger LOG = LoggerFactory.getLogger(RecordSizes.class);
    /** The producer's default {@code max.request.size}: the floor of the one the sink sets. */
    static final int DEFAULT_REQUEST_SIZE = 1024 * 1024;
    /** The producer's default {@code buffer.memory}. */
    static final long DEFAULT_BUFFER_MEMORY = 32L * 1024 * 1024;
    /**
     * The {@code max.request.size} of a sink that may not read its topics' limits: half of the default
     * {@code buffer.memory}, so the heap stays as it was, and twice what the largest managed services
     * take by default; a topic that takes less refuses the record at the broker.
     */
    static final int UNREADABLE_LIMIT = 16 * 1024 * 1024;
    /**
     * The most {@code max.request.size} the sink chooses by itself, whatever a topic takes: the
     * producer pools {@code buffer.memory} (at least this) for its life, so a topic allowing records of
     * hundreds of MB must not size the heap by itself; larger records are refused naming
     * {@code max.request.size}, which {@code properties:} may raise.
     */
    static final int AUTO_REQUEST_CAP = 64 * 1024 * 1024;
    private boolean warnedBatchSize;
    /** How often the limit of a topic Ferry just created is asked for, 200 ms apart, while the broker does not know it. */
    private static final int NEW_TOPIC_ATTEMPTS = 10;
    /** A topic whose limit is unknown: Ferry may not read it, or the topic does not exist yet. */
    private static final int UNKNOWN = -1;

    private final KafkaSink.Settings settings;
    private final Supplier<Admin> admin;
    private final Duration timeout;
    /** Each topic's {@code max.message.bytes}, or {@link #UNKNOWN} when Ferry may not read it. */
    private final Map<String, Integer> limits = new HashMap<>();
    private final boolean compressed;
    private boolean unreadableLogged;

    RecordSizes(KafkaSink.Settings settings, Supplier<Admin> admin, Duration timeout) {
        this.settings = settings;
        this.admin = admin;
        this.timeout = timeout;
        String compression = settings.properties().getOrDefault(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        this.compressed = !compression.isBlank() && !compression.trim().equalsIgnoreCase("none");
    }

    /**
     * Reads the limit of {@code topic} unless it is known. A topic that does not exist yet (left to the
     * broker's auto-creation) is asked again on the next write; one that {@code exists} (Ferry just
     * created it, and the broker may not know it yet) is asked again for a few seconds.
     */
    void learn(String topic, boolean exists) throws FerryException {
        if (limits.containsKey(topic)) {
            return;
        }
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try {
            Config config = null;
            for (int attempt = 1; config == null; attempt++) {
                try {
                    config = admin.get().describeConfigs(List.of(resource)).all()
                            .get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(resource);
                } catch (java.util.concurrent.ExecutionException e) {
                    if (!exists || attempt == NEW_TOPIC_ATTEMPTS
                            || !(KafkaFailures.unwrap(e) instanceof UnknownTopicOrPartitionException)) {
                        throw e;
                    }
                    Thread.sleep(200);
                }
            }
            ConfigEntry entry = config == null ? null : config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
            if (entry != null && entry.value() != null) {
                limits.put(topic, Integer.parseInt(entry.value().trim()));
                LOG.debug("Kafka topic {} takes records of up to {} bytes ({})", topic, entry.value(), entry.source());
                return;
            }
            limits.put(topic, UNKNOWN);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            Throwable cause = KafkaFailures.unwrap(e);
            if (cause instanceof UnknownTopicOrPartitionException) {
                return; // left to the broker's auto-creation (create_topics: false): asked again on the next write
            }
            if (!(cause instanceof AuthorizationException)) {
                throw KafkaFailures.classify(e, "reading the configuration of topic " + topic,
                        settings.bootstrapServers(), null);
            }
            limits.put(topic, UNKNOWN);
            if (!unreadableLogged) {
                unreadableLogged = true;
                LOG.info("Kafka sink {} may not read the configuration of topic {} (DescribeConfigs), so it does not "
                        + "know how large a record the topic takes (max.message.bytes): it sends records of up to {} "
                        + "bytes and leaves larger ones to the broker to refuse. Grant DescribeConfigs on the topics, or "
                        + "set properties: max.request.size to the topics' max.message.bytes.",
                        settings.transactionalId(), topic, UNREADABLE_LIMIT);
            }
        }
    }

    /**
     * The producer's sizes for the topics known so far, each unless {@code properties:} sets it:
     * {@code max.request.size}, {@code buffer.memory} and, when a topic takes less than
     * {@code batchSize}, {@code batch.size}. Equal maps make equal producers.
     */
    Map<String, Object> producerSizes(int batchSize) {
        int largest = DEFAULT_REQUEST_SIZE;
        int smallest = batchSize;
        for (int limit : limits.values()) {
            largest = Math.max(largest, limit == UNKNOWN ? UNREADABLE_LIMIT : limit);
            smallest = limit == UNKNOWN ? smallest : Math.min(smallest, limit);
        }
        Map<String, Object> sizes = new HashMap<>();
        long request = user(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Math.min(largest, AUTO_REQUEST_CAP));
        long batch = user(ProducerConfig.BATCH_SIZE_CONFIG, smallest);
        if (batch > smallest && !warnedBatchSize) {
            warnedBatchSize = true;
            LOG.warn("Kafka sink {}: properties: batch.size is {} bytes, more than a topic of the sink takes ({} bytes of "
                    + "max.message.bytes): the broker refuses every full batch and the producer resends it for ever. Set "
                    + "batch.size to at most {}.", settings.transactionalId(), batch, smallest, smallest);
        }
        sizes.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, (int) request);
        sizes.put(ProducerConfig.BUFFER_MEMORY_CONFIG, user(ProducerConfig.BUFFER_MEMORY_CONFIG,
                Math.max(DEFAULT_BUFFER_MEMORY, request)));
        sizes.put(ProducerConfig.BATCH_SIZE_CONFIG, (int) batch);
        return sizes;
    }

    /**
     * The refusal of a record larger than {@code topic} or the producer takes, measured as the broker
     * measures it; null when it fits, and always with {@code compression.type} set (the broker
     * measures the compressed batch).
     */
    FerryException tooLarge(String topic, TableId table, byte[] key, byte[] value, Header[] headers,
                            Map<String, Object> producer) {
        if (compressed) {
            return null;
        }
        int size = AbstractRecords.estimateSizeInBytesUpperBound(RecordBatch.CURRENT_MAGIC_VALUE, CompressionType.NONE,
                key, value, headers);
        int topicLimit = limits.getOrDefault(topic, UNKNOWN);
        long request = ((Number) producer.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)).longValue();
        long buffer = ((Number) producer.get(ProducerConfig.BUFFER_MEMORY_CONFIG)).longValue();
        String change = "A change of table " + table + " is a record of " + String.format("%,d", size) + " bytes";
        if (topicLimit != UNKNOWN && size > topicLimit) {
            return new FerryException(ErrorKind.DATA, change + " for topic " + topic + ", which takes at most "
                    + String.format("%,d", topicLimit) + " (its max.message.bytes). Raise the topic's "
                    + "max.message.bytes (kafka-configs.sh --alter --entity-type topics --entity-name " + topic
                    + " --add-config max.message.bytes=N; a topic without one takes the broker's message.max.bytes), "
                    + "or leave such changes to the dead-letter log (record_errors: dlq). The batch's transaction was "
                    + "aborted.");
        }
        if (size > request || size > buffer) {
            boolean byRequest = size > request;
            String setting = byRequest ? ProducerConfig.MAX_REQUEST_SIZE_CONFIG : ProducerConfig.BUFFER_MEMORY_CONFIG;
            String fix;
            if (!userSet(setting)) {
                fix = ", which the sink set from what it could learn of its topics' max.message.bytes. Set properties: "
                        + "max.request.size to what the topic takes.";
            } else if (byRequest) {
                fix = " set in the sink's properties:. Raise it there, up to the topic's max.message.bytes (and "
                        + "buffer.memory, if set, with it).";
            } else {
                fix = " set in the sink's properties:. Raise it there to max.request.size at least.";
            }
            return new FerryException(ErrorKind.DATA, change + " for topic " + topic + ", more than the producer's "
                    + setting + " of " + String.format("%,d", byRequest ? request : buffer) + fix
                    + " The batch's transaction was aborted.");
        }
        return null;
    }

    private boolean userSet(String key) {
        return settings.properties().containsKey(key);
    }

    /**
     * What {@code properties:} sets for {@code key}, else {@code otherwise}; a value that is no number
     * is left to the producer, which refuses it as a CONFIG error naming it.
     */
    private long user(String key, long otherwise) {
        String value = settings.properties().get(key);
        if (value == null) {
            return otherwise;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }
}
