package dev.ferry.sink.kafka;

import dev.ferry.error.FerryException;
import dev.ferry.log.SharedLog;
import dev.ferry.source.PositionCodec;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The partitions of a {@link KafkaLog} shared by sink workers through the Kafka consumer group
 * {@code ferry.<pipeline>.sinks}. The group only decides who delivers which partition: its consumer
 * subscribes to the Log's topic and pauses every partition it gets, so it never fetches records, and
 * commits nothing. Each sink reads its committed offset from its own target, where it commits it
 * atomically with its data, and reads the partition with a consumer of its own
 * ({@link KafkaLogPartition}).
 *
 * <p>Hand-over: Kafka's eager rebalance protocol (the default range assignor) makes every worker give
 * up its partitions ({@code onPartitionsRevoked}: its deliveries stop after their current write) before
 * any is given out again. A worker that dies is dropped from the group after {@code session.timeout.ms}
 * (set in {@code log.properties}; the broker's default is 45 s) and its partitions go to the others. A
 * worker that was paused (GC, network) and still writes after losing its partition is not fenced by
 * the group: each sink guards its target itself (the postgres sink locks its offset row and skips
 * what is committed, so two writers of a partition still write each event once, in order).
 */
final class KafkaLogGroup implements SharedLog {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaLogGroup.class);
    private static final Duration POLL = Duration.ofMillis(200);

    private final KafkaLog.Settings settings;
    private final PositionCodec positions;

    KafkaLogGroup(KafkaLog.Settings settings, PositionCodec positions) {
        this.settings = settings;
        this.positions = positions;
    }

    /** The consumer group of the pipeline's sink workers. */
    String group() {
        return "ferry." + settings.pipeline() + ".sinks";
    }

    @Override
    public int partitions() {
        return settings.partitions();
    }

    @Override
    public void follow(Assignments assignments, BooleanSupplier stopped) throws FerryException {
        if (!awaitTopic(stopped)) {
            return;
        }
        TreeSet<Integer> mine = new TreeSet<>();
        KafkaConsumer<byte[], byte[]> consumer;
        try {
            consumer = new KafkaConsumer<>(groupProperties(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        } catch (KafkaException e) {
            throw KafkaFailures.classify(e, "creating the sink workers' consumer", settings.bootstrapServers(), null);
        }
        try {
            consumer.subscribe(List.of(settings.topic()), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    for (TopicPartition tp : partitions) {
                        if (mine.remove(tp.partition())) {
                            assignments.revoked(tp.partition());
                        }
                    }
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    consumer.pause(partitions); // membership only: the sinks read with consumers of their own
                    for (TopicPartition tp : partitions) {
                        if (mine.add(tp.partition())) {
                            try {
                                assignments.assigned(tp.partition(), openPartition(tp.partition(), stopped));
                            } catch (FerryException e) {
                                mine.remove(tp.partition());
                                throw new KafkaException(e.getMessage(), e);
                            }
                        }
                    }
                }
            });
            LOG.info("Sink worker: joining consumer group {} on the Log's topic {}", group(), settings.topic());
            while (!stopped.getAsBoolean()) {
                consumer.poll(POLL);
            }
        } catch (KafkaException e) {
            throw e.getCause() instanceof FerryException fe ? fe
                    : KafkaFailures.classify(e, "following the Log's topic " + settings.topic() + " in consumer group "
                    + group(), settings.bootstrapServers(), null);
        } finally {
            for (Integer p : List.copyOf(mine)) {
                assignments.revoked(p);
            }
            mine.clear();
            consumer.close(Duration.ofSeconds(5)); // leaves the group: the others rebalance at once
        }
    }

    /**
     * Opens a partition given to this worker, reading its tail; while the brokers cannot be reached
     * it tries again with backoff for up to {@link #OPEN_RETRY} (the group waits for this worker
     * meanwhile, up to {@code max.poll.interval.ms}), then gives up: the worker stops. A stop
     * ({@code stopped}, SIGTERM) ends the retries at once.
     */
    private KafkaLogPartition openPartition(int partition, BooleanSupplier stopped) throws FerryException {
        long deadline = System.nanoTime() + OPEN_RETRY.toNanos();
        long backoff = 500;
        while (true) {
            try {
                return KafkaLogPartition.open(settings, positions, partition);
            } catch (FerryException e) {
                if (e.kind() != dev.ferry.error.ErrorKind.CONNECTIVITY || System.nanoTime() > deadline) {
                    throw e;
                }
                if (stopped.getAsBoolean()) {
                    throw new FerryException(e.kind(), "Stopped while partition " + partition + " of the Log could "
                            + "not be opened: " + e.getMessage(), e);
                }
                LOG.warn("{} Retrying in {} ms.", e.getMessage(), backoff);
                try {
                    for (long until = System.nanoTime() + backoff * 1_000_000; System.nanoTime() < until
                            && !stopped.getAsBoolean(); ) {
                        Thread.sleep(100);
                    }
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
    }

    /** How long opening an assigned partition is retried while the brokers cannot be reached. */
    private static final Duration OPEN_RETRY = Duration.ofMinutes(2);

    /**
     * Waits until the capture has created the Log's topic, and checks its partition count. A worker
     * must not subscribe before: a broker with {@code auto.create.topics.enable} would create the
     * topic at the subscription, with the broker's partition count.
     *
     * @return false when stopped meanwhile
     */
    private boolean awaitTopic(BooleanSupplier stopped) throws FerryException {
        try (Admin admin = Admin.create(KafkaLog.adminProperties(settings))) {
            boolean told = false;
            while (!stopped.getAsBoolean()) {
                if (KafkaLog.partitionCount(settings, admin).isPresent()) {
                    KafkaLog.requirePartitions(settings, admin);
                    return true;
                }
                if (!told) {
                    LOG.info("Sink worker: waiting for the capture to create the Log's topic {}", settings.topic());
                    told = true;
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return false;
        }
    }

    private Map<String, Object> groupProperties() {
        Map<String, Object> props = new HashMap<>();
        KafkaClients.passThrough(settings.properties(), ConsumerConfig.configNames(), props);
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "ferry-" + settings.pipeline() + "-sinks");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest"); // it never fetches: nothing to start from
        props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
                org.apache.kafka.clients.consumer.RangeAssignor.class.getName());
        return props;
    }

    @Override
    public boolean exists() throws FerryException {
        try (Admin admin = Admin.create(KafkaLog.adminProperties(settings))) {
            return KafkaLog.partitionCount(settings, admin).isPresent();
        }
    }

    @Override
    public dev.ferry.log.FollowedLog readPartition(int partition) throws FerryException {
        try (Admin admin = Admin.create(KafkaLog.adminProperties(settings))) {
            KafkaLog.requirePartitions(settings, admin); // CONFIG, saying so, while the capture has not made it
        }
        return KafkaLogPartition.open(settings, positions, partition);
    }

    /** The topic, the workers' consumer group, its state and each member's partitions (Admin's view). */
    @Override
    public Map<String, String> describe() throws FerryException {
        Map<String, String> rows = new java.util.LinkedHashMap<>();
        rows.put("topic", settings.topic() + " (" + settings.partitions() + " partition"
                + (settings.partitions() == 1 ? "" : "s") + ") at " + settings.bootstrapServers());
        Optional<ConsumerGroupDescription> group = describeGroup();
        if (group.isEmpty()) {
            rows.put("sink workers' group", group() + " (no worker has joined it yet)");
            return rows;
        }
        ConsumerGroupDescription d = group.get();
        rows.put("sink workers' group", group() + " (" + d.groupState().toString().toLowerCase(java.util.Locale.ROOT)
                + ", " + d.members().size() + " worker" + (d.members().size() == 1 ? "" : "s") + ")");
        List<org.apache.kafka.clients.admin.MemberDescription> members = d.members().stream()
                .sorted(java.util.Comparator.comparing(org.apache.kafka.clients.admin.MemberDescription::consumerId))
                .toList();
        for (org.apache.kafka.clients.admin.MemberDescription m : members) {
            TreeSet<Integer> held = new TreeSet<>();
            m.assignment().topicPartitions().forEach(tp -> held.add(tp.partition()));
            rows.put("worker " + m.host() + " " + m.consumerId(), "partitions " + held);
        }
        return rows;
    }

    @Override
    public java.util.Set<Integer> heldPartitions() throws FerryException {
        Optional<ConsumerGroupDescription> group = describeGroup();
        TreeSet<Integer> held = new TreeSet<>();
        if (group.isEmpty() || group.get().members().isEmpty()) {
            return held;
        }
        GroupState state = group.get().groupState();
        if (state != GroupState.STABLE) {
            // a rebalance is handing the partitions out: any member may get any of them
            for (int p = 0; p < settings.partitions(); p++) {
                held.add(p);
            }
            return held;
        }
        group.get().members().forEach(m -> m.assignment().topicPartitions().forEach(tp -> held.add(tp.partition())));
        return held;
    }

    /** The workers' consumer group as the Admin client describes it; empty when no worker has joined it yet. */
    private Optional<ConsumerGroupDescription> describeGroup() throws FerryException {
        try (Admin admin = Admin.create(KafkaLog.adminProperties(settings))) {
            return Optional.of(admin.describeConsumerGroups(List.of(group())).describedGroups().get(group())
                    .get(KafkaLog.TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw KafkaFailures.classify(e, "describing consumer group " + group(), settings.bootstrapServers(), null);
        } catch (Exception e) {
            if (KafkaFailures.unwrap(e) instanceof org.apache.kafka.common.errors.GroupIdNotFoundException) {
                return Optional.empty();
            }
            throw KafkaFailures.classify(e, "describing consumer group " + group(), settings.bootstrapServers(), null);
        }
    }

    /** Nothing held between {@link #follow} calls. */
    @Override
    public void close() {
    }
}
