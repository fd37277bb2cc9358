package dev.ferry.sink.kafka;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What the sink and the Log do alike with Kafka's clients: their properties, and closing a producer. */
final class KafkaClients {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaClients.class);

    private KafkaClients() {
    }

    /**
     * Copies the user's {@code properties:} that a client of one kind knows ({@code known}, its
     * {@code configNames()}) into its configuration; security settings thereby reach every client.
     */
    static void passThrough(Map<String, String> properties, Set<String> known, Map<String, Object> into) {
        for (Map.Entry<String, String> e : properties.entrySet()) {
            if (known.contains(e.getKey())) {
                into.put(e.getKey(), e.getValue());
            }
        }
    }

    /**
     * Closes a producer, waiting at most {@code timeout} ({@link Duration#ZERO}: abandons it, leaving
     * its open transaction to be aborted when the next producer of its transactional.id fences it).
     */
    static void close(Producer<?, ?> producer, Duration timeout) {
        try {
            producer.close(timeout);
        } catch (RuntimeException e) {
            LOG.debug("closing a producer", e);
        }
    }
}
