package dev.ferry.sink.kafka;

import dev.ferry.error.FerryException;
import dev.ferry.event.TableId;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sink's topics: their names ({@code <prefix>.<schema>.<table>}) and, with {@code create_topics},
 * their creation through the Admin client before a topic's first record. An existing topic is left
 * as it is, also when Ferry may not create topics but someone made it beforehand.
 */
final class Topics {
    private static final Logger LOG = LoggerFactory.getLogger(Topics.class);

    private final KafkaSink.Settings settings;
    private final Supplier<Admin> admin;
    private final Duration timeout;
    private final Set<String> known = new HashSet<>();
    private final Map<TableId, String> names = new HashMap<>();

    Topics(KafkaSink.Settings settings, Supplier<Admin> admin, Duration timeout) {
        this.settings = settings;
        this.admin = admin;
        this.timeout = timeout;
    }

    /** The topic of a table. */
    String of(TableId table) {
        return names.computeIfAbsent(table, t -> settings.topicPrefix() + "." + t.schema() + "." + t.name());
    }

    /** Creates a table's topic unless it was seen already or creation is off. */
    void ensure(String topic) throws FerryException {
        if (!settings.createTopics() || known.contains(topic)) {
            return;
        }
        create(new NewTopic(topic, settings.partitions(), settings.replicationFactor()).configs(settings.topicConfig()));
        known.add(topic);
    }

    /** Whether the topic is known to exist: Ferry created it, or found it made, in this run. */
    boolean known(String topic) {
        return known.contains(topic);
    }

    /**
     * Creates the offsets topic (one partition, compacted: the last offset record of each sink stays)
     * unless it exists; one that exists must be compacted.
     */
    void ensureOffsetsTopic() throws FerryException {
        if (known.contains(settings.offsetsTopic())) {
            return;
        }
        if (!create(new NewTopic(settings.offsetsTopic(), Optional.of(1), settings.replicationFactor())
                .configs(Map.of("cleanup.policy", "compact")))) {
            requireCompacted(true);
        }
        known.add(settings.offsetsTopic());
    }

    /**
     * Whether the offsets topic exists, without creating it (read-only callers: {@code ferry status});
     * one that exists must be compacted.
     */
    boolean offsetsTopicExists() throws FerryException {
        if (known.contains(settings.offsetsTopic())) {
            return true;
        }
        String topic = settings.offsetsTopic();
        try {
            if (!admin.get().listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS).contains(topic)) {
                return false;
            }
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw KafkaFailures.classify(e, "listing topics", settings.bootstrapServers(), null);
        }
        if (requireCompacted(false)) {
            known.add(topic); // not one to compact: the sink's next write still looks at it
        }
        return true;
    }

    /**
     * Refuses an offsets topic that deletes old records: after its retention the sink's last offset
     * record is gone, and a sink whose group offset expired too would start over and write everything
     * again. (A broker with {@code auto.create.topics.enable} makes such a topic when any client
     * reads a missing one, as Ferry's own reads of it did before they stopped asking for that.) A
     * policy Ferry may not read is left unchecked. Writing ({@code fix}), Ferry makes such a topic
     * compacted itself where its rights allow; reading (status), it only warns.
     */
    /** @return whether the topic is compacted now (or its policy cannot be read) */
    private boolean requireCompacted(boolean fix) throws FerryException {
        String topic = settings.offsetsTopic();
        String policy;
        try {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config config = admin.get().describeConfigs(List.of(resource)).all()
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(resource);
            ConfigEntry entry = config == null ? null : config.get("cleanup.policy");
            policy = entry == null || entry.value() == null ? "" : entry.value();
        } catch (Exception e) {
            deniedOrThrow(e, "reading the configuration of topic " + topic);
            return true; // a policy Ferry may not read is left unchecked
        }
        if (!List.of(policy.replace(" ", "").split(",")).contains("compact")) {
            if (!fix) {
                LOG.warn("The offsets topic {} has cleanup.policy={}; it must be compact (the Kafka sink makes it so "
                        + "when it next writes, where its rights allow)", topic, policy);
                return false;
            }
            if (compact(topic)) {
                LOG.warn("The offsets topic {} had cleanup.policy={} (made by a broker's auto.create.topics.enable); "
                        + "set it to compact, so that the sinks' last offset records are kept", topic, policy);
                return true;
            }
            throw FerryException.config("The offsets topic " + topic + " of the Kafka sink " + settings.transactionalId()
                    + " has cleanup.policy=" + policy + ": it must be compact, or the sink's last offset record is "
                    + "deleted after retention and the sink writes everything again. Change it (kafka-configs.sh "
                    + "--alter --entity-type topics --entity-name " + topic + " --add-config cleanup.policy=compact), "
                    + "or delete the topic while no pipeline runs so that Ferry makes it compacted.");
        }
        return true;
    }

    /** Sets the topic's cleanup.policy to compact; false where Ferry may not. */
    private boolean compact(String topic) throws FerryException {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        AlterConfigOp op = new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.SET);
        try {
            admin.get().incrementalAlterConfigs(Map.of(resource, List.of(op))).all()
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            deniedOrThrow(e, "altering the configuration of topic " + topic);
            return false;
        }
    }

    /**
     * Returns when {@code e} (from an admin call {@code doing} something) is a refusal of Ferry's
     * rights, which the caller tolerates; throws it classified otherwise.
     */
    private void deniedOrThrow(Exception e, String doing) throws FerryException {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        if (KafkaFailures.unwrap(e) instanceof AuthorizationException) {
            LOG.debug("not allowed: {}", doing, e);
            return;
        }
        throw KafkaFailures.classify(e, doing, settings.bootstrapServers(), null);
    }

    /** Creates a topic; false when it existed already. */
    private boolean create(NewTopic topic) throws FerryException {
        try {
            admin.get().createTopics(List.of(topic)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            LOG.info("Kafka sink {}: created topic {}", settings.transactionalId(), topic.name());
            return true;
        } catch (Exception e) {
            Throwable cause = KafkaFailures.unwrap(e);
            if (cause instanceof TopicExistsException
                    || (cause instanceof AuthorizationException && exists(topic.name()))) {
                return false; // made beforehand, by someone allowed to: Ferry needs only to write to it
            }
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw KafkaFailures.classify(e, "creating topic " + topic.name(), settings.bootstrapServers(), null);
        }
    }

    private boolean exists(String topic) {
        try {
            return admin.get().listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS).contains(topic);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return false;
        }
    }
}
