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
import org.apache.kafka.clients.admin.NewTopic;
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

    /** Creates the offsets topic (one partition, compacted: the last offset record of each sink stays) unless it exists. */
    void ensureOffsetsTopic() throws FerryException {
        if (known.contains(settings.offsetsTopic())) {
            return;
        }
        create(new NewTopic(settings.offsetsTopic(), Optional.of(1), settings.replicationFactor())
                .configs(Map.of("cleanup.policy", "compact")));
        known.add(settings.offsetsTopic());
    }

    private void create(NewTopic topic) throws FerryException {
        try {
            admin.get().createTopics(List.of(topic)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            LOG.info("Kafka sink {}: created topic {}", settings.transactionalId(), topic.name());
        } catch (Exception e) {
            Throwable cause = KafkaFailures.unwrap(e);
            if (cause instanceof TopicExistsException
                    || (cause instanceof AuthorizationException && exists(topic.name()))) {
                return; // made beforehand, by someone allowed to: Ferry needs only to write to it
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
