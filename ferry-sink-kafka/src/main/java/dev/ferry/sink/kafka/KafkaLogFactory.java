package dev.ferry.sink.kafka;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.log.Log;
import dev.ferry.log.LogFactory;
import dev.ferry.log.SharedLog;
import dev.ferry.source.PositionCodec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@code log: {type: kafka}}: the Log on a Kafka topic of one or more partitions, appended to in Kafka
 * transactions and read with {@code read_committed} ({@link KafkaLog}); its partitions can be shared
 * by sink workers in other processes ({@link KafkaLogGroup}; docs/kafka.md).
 */
public final class KafkaLogFactory implements LogFactory {
    private static final Pattern TOPIC_NAME = Pattern.compile("[A-Za-z0-9._-]{1,249}");

    static final Setting<String> BOOTSTRAP_SERVERS = Setting.string("bootstrap_servers",
            "the Kafka brokers to connect to first, host:port separated by commas", "kafka1:9092")
            .required();
    static final Setting<String> TOPIC = Setting.string("topic",
            "the topic of the Log, created with its partitions when missing; the default is "
                    + "ferry.<pipeline>.log", "ferry.shop.log");
    static final Setting<Integer> PARTITIONS = Setting.integer("partitions",
            "partitions of the Log's topic. Capture routes each change by its table and key, so all changes of a row "
                    + "stay in one partition in source order; each partition is delivered by one sink worker at a time "
                    + "(ferry run --role sinks). Above 1, sinks run only in sink workers (ferry run without --role runs the "
                    + "capture and one worker) and the pipeline streams (no --once). Fixed once the topic exists",
            1, 1024).withDefault(1);
    static final Setting<String> TRANSACTIONAL_ID = Setting.string("transactional_id",
            "the capture's transactional.id; a restart with the same id fences the previous capture. "
                    + "The default is ferry.<pipeline>.log.capture (not ferry.<pipeline>.log, which a Kafka sink with "
                    + "topic_prefix: log takes by default)", "ferry.shop.log.capture");
    static final Setting<Integer> REPLICATION_FACTOR = Setting.integer("replication_factor",
            "replication factor of the Log's topic when Ferry creates it; the default is the broker's",
            1, 32);
    static final Setting<Map<String, String>> TOPIC_CONFIG = Setting.stringMap("topic_config",
            "topic-level settings of the Log's topic when Ferry creates it. Its retention is the Log's: "
                    + "set retention.ms longer than any sink may lag behind", "{retention.ms: 604800000, min.insync.replicas: 2}")
            .withDefault(Map.of());
    static final Setting<Map<String, String>> PROPERTIES = Setting.stringMap("properties",
            "Kafka client properties passed through as they are to the producer, the consumers and the "
                    + "Admin client: TLS and SASL settings, compression.type... Values may use ${env:NAME}; they are never "
                    + "logged", "{security.protocol: SASL_SSL, sasl.jaas.config: \"${env:KAFKA_JAAS}\"}")
            .withDefault(Map.of());

    @Override
    public String type() {
        return "kafka";
    }

    @Override
    public List<Setting<?>> settings() {
        return List.of(BOOTSTRAP_SERVERS, TOPIC, PARTITIONS, TRANSACTIONAL_ID, REPLICATION_FACTOR, TOPIC_CONFIG, PROPERTIES);
    }

    @Override
    public int partitions(ComponentConfig config) throws FerryException {
        return config.get(PARTITIONS);
    }

    @Override
    public Log open(String pipelineName, ComponentConfig config, Path state, PositionCodec positions)
            throws FerryException {
        return KafkaLog.open(settings(pipelineName, config), positions);
    }

    /** The Log's partitions shared by the sink workers of the consumer group {@code ferry.<pipeline>.sinks}. */
    @Override
    public SharedLog openShared(String pipelineName, ComponentConfig config, PositionCodec positions)
            throws FerryException {
        return new KafkaLogGroup(settings(pipelineName, config), positions);
    }

    static KafkaLog.Settings settings(String pipelineName, ComponentConfig config) throws FerryException {
        String topic = config.find(TOPIC).orElse("ferry." + pipelineName + ".log");
        if (!TOPIC_NAME.matcher(topic).matches()) {
            throw FerryException.config(config.where(TOPIC.key()) + " is not a valid Kafka topic name: \"" + topic
                    + "\". Use letters, digits, '.', '_' and '-'.");
        }
        Map<String, String> properties = config.get(PROPERTIES);
        for (String reserved : KafkaSink.RESERVED_PROPERTIES) {
            if (properties.containsKey(reserved)) {
                throw FerryException.config(config.where(PROPERTIES.key()) + " sets " + reserved + ", which the Kafka "
                        + "log sets itself for exactly-once appends. Remove it.");
            }
        }
        return new KafkaLog.Settings(pipelineName, config.get(BOOTSTRAP_SERVERS), topic, config.get(PARTITIONS),
                config.find(TRANSACTIONAL_ID).orElse("ferry." + pipelineName + ".log.capture"),
                config.find(REPLICATION_FACTOR).map(Integer::shortValue), config.get(TOPIC_CONFIG), properties);
    }
}
