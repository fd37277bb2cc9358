package dev.ferry.bench.debezium;

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Debezium's consumer in the Kafka benchmark: each data change of the captured tables sent to Kafka,
 * to the topic Debezium names it ({@code <topic.prefix>.<schema>.<table>}), keyed and valued by the
 * JSON Debezium's converter made, as Kafka Connect's worker sends a source connector's records.
 *
 * <p>The producer has the settings Kafka Connect's worker gives every source task's producer
 * ({@code Worker.baseProducerConfigs} in Kafka 4.1): {@code acks=all}, idempotence off,
 * {@code max.in.flight.requests.per.connection=1}, unbounded delivery timeout; the rest are the
 * client's defaults ({@code linger.ms} 5, {@code batch.size} 16 KiB, no compression). Like Connect,
 * records are sent asynchronously and the source offsets may be committed once the sends are
 * acknowledged; here a batch's records are marked processed once handed to the producer, and the
 * measured time ends when the broker acknowledged the expected number of records. Not exactly once:
 * Connect's exactly-once source support (KIP-618) needs a distributed worker, which the embedded
 * engine is not. Called by the engine's one polling thread; the callbacks run on the producer's.
 */
final class KafkaWriter implements DebeziumBench.Consumer {
    private final KafkaProducer<String, String> producer;
    private final Set<String> topics;
    private final long expected;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final AtomicLong acknowledged = new AtomicLong();
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private long firstNanos;
    private volatile long doneNanos;

    KafkaWriter(String bootstrapServers, Set<String> topics, long expected) {
        this.producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ProducerConfig.CLIENT_ID_CONFIG, "debezium-bench",
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false,
                ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.MAX_VALUE),
                new StringSerializer(), new StringSerializer());
        this.topics = topics;
        this.expected = expected;
    }

    @Override
    public void handleBatch(List<ChangeEvent<String, String>> records,
                            DebeziumEngine.RecordCommitter<ChangeEvent<String, String>> committer) throws InterruptedException {
        if (firstNanos == 0) {
            firstNanos = System.nanoTime();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("a record was refused", failure.get());
        }
        for (ChangeEvent<String, String> r : records) {
            if (r.value() != null && topics.contains(r.destination())) {
                producer.send(new ProducerRecord<>(r.destination(), r.key(), r.value()), (metadata, e) -> {
                    if (e != null) {
                        failure.compareAndSet(null, e);
                        done.completeExceptionally(e);
                    } else if (acknowledged.incrementAndGet() == expected) {
                        doneNanos = System.nanoTime();
                        done.complete(null);
                    }
                });
            }
            committer.markProcessed(r);
        }
        committer.markBatchFinished();
    }

    @Override
    public CompletableFuture<Void> done() {
        return done;
    }

    @Override
    public long written() {
        return acknowledged.get();
    }

    @Override
    public long firstNanos() {
        return firstNanos;
    }

    @Override
    public long doneNanos() {
        return doneNanos;
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(30));
    }
}
