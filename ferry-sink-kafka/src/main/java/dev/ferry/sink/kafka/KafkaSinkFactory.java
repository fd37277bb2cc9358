package dev.ferry.sink.kafka;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.event.EnvelopeWriter;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkFactory;
import dev.ferry.source.SourceInfo;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** {@code type: kafka}: one topic per table, Debezium's envelope, exactly once through Kafka transactions. */
public final class KafkaSinkFactory implements SinkFactory {
    private static final Pattern TOPIC_NAME = Pattern.compile("[A-Za-z0-9._-]{1,249}");

    static final Setting<String> BOOTSTRAP_SERVERS = Setting.string("bootstrap_servers",
            "the Kafka brokers to connect to first, host:port separated by commas", "kafka1:9092,kafka2:9092").required();
    static final Setting<String> TOPIC_PREFIX = Setting.string("topic_prefix",
            "topics are named <topic_prefix>.<schema>.<table>; the default is the pipeline name", "shop");
    static final Setting<String> FORMAT = Setting.oneOf("format",
            "envelope: keys and values are the JSON of ARCHITECTURE.md's envelope (Debezium's with schemas.enable=false); "
                    + "connect_json: each key and value is Kafka Connect JsonConverter's {\"schema\":...,\"payload\":...} form "
                    + "(schemas.enable=true), with JSON columns as strings",
            "envelope", "connect_json").withDefault("envelope");
    static final Setting<Boolean> TOMBSTONES = Setting.bool("tombstones",
            "after each delete, also write a record with the same key and a null value, so that log compaction "
                    + "can drop the key (Debezium's tombstones.on.delete)").withDefault(true);
    static final Setting<Boolean> CREATE_TOPICS = Setting.bool("create_topics",
            "create each table's topic with the Admin client before its first record, with partitions, "
                    + "replication_factor and topic_config; false leaves it to the broker's auto-creation or to you")
            .withDefault(true);
    static final Setting<Integer> PARTITIONS = Setting.integer("partitions",
            "partitions of the topics Ferry creates; the default is the broker's num.partitions. Changes of one key "
                    + "always go to one partition, in order", 1, 100_000);
    static final Setting<Integer> REPLICATION_FACTOR = Setting.integer("replication_factor",
            "replication factor of the topics Ferry creates; the default is the broker's default.replication.factor",
            1, 32);
    static final Setting<Map<String, String>> TOPIC_CONFIG = Setting.stringMap("topic_config",
            "topic-level settings of the topics Ferry creates", "{cleanup.policy: compact, min.insync.replicas: 2}")
            .withDefault(Map.of());
    static final Setting<Map<String, String>> PROPERTIES = Setting.stringMap("properties",
            "Kafka client properties passed through as they are, to the producer and the Admin client: TLS and "
                    + "SASL (security.protocol, ssl.truststore.location, sasl.mechanism, sasl.jaas.config), compression.type, "
                    + "linger.ms... Values may use ${env:NAME}; they are never logged. transactional.id, the serializers "
                    + "and idempotence are Ferry's and cannot be set here",
            "{security.protocol: SASL_SSL, sasl.mechanism: SCRAM-SHA-512, sasl.jaas.config: \"${env:KAFKA_JAAS}\"}")
            .withDefault(Map.of());
    static final Setting<String> TRANSACTIONAL_ID = Setting.string("transactional_id",
            "the producer's transactional.id, also the consumer group that holds this sink's committed offset; "
                    + "the default is ferry.<pipeline>.<topic_prefix>. Keep it stable: a restart with the same id fences "
                    + "the previous producer. Two sinks must not share one. A sink worker's sink of partition p of a Log of several "
                    + "partitions uses <transactional_id>/<p>", "ferry.shop.shop");
    static final Setting<String> OFFSETS_TOPIC = Setting.string("offsets_topic",
            "the compacted one-partition topic whose committed offset in the transactional_id group is this sink's "
                    + "Log offset; each commit also writes there a record keyed by the transactional_id holding it, read "
                    + "when the group's offset expired", "_ferry_offsets").withDefault("_ferry_offsets");
    static final Setting<Integer> TRANSACTION_TIMEOUT_MS = Setting.integer("transaction_timeout_ms",
            "the producer's transaction.timeout.ms: the broker aborts a transaction left open this long by a Ferry "
                    + "that died", 1000, 900_000).withDefault(60_000);

    @Override
    public String type() {
        return "kafka";
    }

    @Override
    public List<Setting<?>> settings() {
        return List.of(BOOTSTRAP_SERVERS, TOPIC_PREFIX, FORMAT, TOMBSTONES, CREATE_TOPICS, PARTITIONS,
                REPLICATION_FACTOR, TOPIC_CONFIG, PROPERTIES, TRANSACTIONAL_ID, OFFSETS_TOPIC, TRANSACTION_TIMEOUT_MS);
    }

    /** One commit is one Kafka transaction (two round trips to the coordinator): batch for 100 ms. */
    @Override
    public int defaultCommitIntervalMillis() {
        return 100;
    }

    @Override
    public Sink create(String pipelineName, ComponentConfig config, SourceInfo source) throws FerryException {
        return create(pipelineName, config, source, "", 0, 1);
    }

    /**
     * The sink of one partition of a Log of several: its {@code transactional.id} (and the consumer
     * group holding its committed offset, and the key of its offset record) is the configured one
     * suffixed with {@code /<partition>}, so each partition commits its own offset in the transactions
     * that write its records, and a worker that lost the partition but still writes (a zombie) is
     * fenced by the one that took it over: its next send or commit fails, and its retry fences in turn
     * and re-reads the offset, skipping what the other committed. Of a Log of one partition it is the
     * sink {@link #create} makes (the same id and offset), so such a pipeline moves between
     * {@code ferry run} and sink workers without starting over.
     */
    @Override
    public Sink createForPartition(String pipelineName, ComponentConfig config, SourceInfo source, int partition,
                                   int partitions) throws FerryException {
        if (partitions > 1 && TRUNCATE_WARNED.compareAndSet(false, true)) {
            LOG.warn("Kafka sink of pipeline {}: the Log has {} partitions, so each truncate reaches the sink's topics "
                    + "once per Log partition, each ordered only against that partition's keys (records carry the "
                    + "header {}). A consumer must not apply a truncate as 'empty the table': scope it to the rows "
                    + "whose records carry the same header value (docs/kafka.md).", pipelineName, partitions,
                    KafkaSink.LOG_PARTITION_HEADER);
        }
        return create(pipelineName, config, source, partitions == 1 ? "" : "/" + partition, partition, partitions);
    }

    /** The truncate warning is logged once per process, not once per partition. */
    private static final java.util.concurrent.atomic.AtomicBoolean TRUNCATE_WARNED =
            new java.util.concurrent.atomic.AtomicBoolean();
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(KafkaSinkFactory.class);

    private Sink create(String pipelineName, ComponentConfig config, SourceInfo source, String idSuffix,
                        int logPartition, int logPartitions) throws FerryException {
        String prefix = config.find(TOPIC_PREFIX).orElse(pipelineName);
        if (!TOPIC_NAME.matcher(prefix + ".x").matches()) {
            throw FerryException.config(config.where(TOPIC_PREFIX.key()) + " must use only letters, digits, '.', '_' "
                    + "and '-' (Kafka's topic name characters), got \"" + prefix + "\".");
        }
        String offsetsTopic = config.get(OFFSETS_TOPIC);
        if (!TOPIC_NAME.matcher(offsetsTopic).matches()) {
            throw FerryException.config(config.where(OFFSETS_TOPIC.key()) + " is not a valid Kafka topic name: \""
                    + offsetsTopic + "\". Use letters, digits, '.', '_' and '-'.");
        }
        Map<String, String> properties = config.get(PROPERTIES);
        for (String reserved : KafkaSink.RESERVED_PROPERTIES) {
            if (properties.containsKey(reserved)) {
                throw FerryException.config(config.where(PROPERTIES.key()) + " sets " + reserved + ", which the Kafka "
                        + "sink sets itself for exactly-once delivery. Remove it"
                        + (reserved.equals("transactional.id") ? " and use transactional_id: instead." : "."));
            }
        }
        boolean connectJson = config.get(FORMAT).equals("connect_json");
        EnvelopeWriter envelopes = new EnvelopeWriter(source);
        RecordEncoder encoder = new RecordEncoder(connectJson ? envelopes.withJsonAsText() : envelopes, connectJson);
        KafkaSink.Settings settings = new KafkaSink.Settings(pipelineName, config.get(BOOTSTRAP_SERVERS), prefix,
                config.find(TRANSACTIONAL_ID).orElse("ferry." + pipelineName + "." + prefix) + idSuffix, offsetsTopic,
                config.get(TOMBSTONES), config.get(CREATE_TOPICS), config.find(PARTITIONS),
                config.find(REPLICATION_FACTOR).map(Integer::shortValue), config.get(TOPIC_CONFIG), properties,
                config.get(TRANSACTION_TIMEOUT_MS), logPartition, logPartitions);
        return new KafkaSink(settings, encoder);
    }
}
