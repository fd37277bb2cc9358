package dev.ferry.sink.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ComponentConfig;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.log.FollowedLog;
import dev.ferry.log.Log;
import dev.ferry.log.LogEntry;
import dev.ferry.log.LogReader;
import dev.ferry.log.Offset;
import dev.ferry.log.SharedLog;
import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import dev.ferry.testkit.PrivateKafka;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Kafka Log of several partitions against a private broker: each partition numbers its events
 * without gaps, every change of a key in one partition and in order, a truncate in each, the last
 * position and every partition's end recovered on reopening, snapshot events held back from sink
 * workers until the snapshot finished, and the partitions shared by the sink workers of the
 * consumer group, the ones of a worker that leaves going to the other.
 */
class KafkaLogPartitionsIT {
    @RegisterExtension
    static final PrivateKafka KAFKA = new PrivateKafka();
    private static int pipelines;

    /** A counter position that is a snapshot's while below 1,000,000 when {@code snapshots} is set. */
    record Pos(long value, boolean snapshot) implements Position {
        @Override
        public String display() {
            return "#" + value;
        }

        @Override
        public Map<String, Object> envelopeFields() {
            return Map.of();
        }

        @Override
        public int compareTo(Position o) {
            return Long.compare(value, ((Pos) o).value);
        }
    }

    private static final PositionCodec CODEC = new PositionCodec() {
        @Override
        public byte[] encode(Position position) {
            Pos p = (Pos) position;
            return ByteBuffer.allocate(9).putLong(0, p.value()).put(8, (byte) (p.snapshot() ? 1 : 0)).array();
        }

        @Override
        public Position decode(byte[] bytes) {
            return new Pos(ByteBuffer.wrap(bytes).getLong(), bytes[8] == 1);
        }
    };

    private static ComponentConfig config(int partitions, String extra) throws Exception {
        return ComponentConfig.ofYaml("log", "type: kafka\nbootstrap_servers: " + KAFKA.broker().bootstrapServers()
                + "\npartitions: " + partitions + "\nproperties: {max.block.ms: 10000" + extra + "}\n");
    }

    private static Log open(String pipeline, int partitions) throws Exception {
        return new KafkaLogFactory().open(pipeline, config(partitions, ""), Path.of("unused"), CODEC);
    }

    private static ChangeEvent change(Op op, long id, long counter, boolean snapshot) {
        return new ChangeEvent(op, TestEvents.ORDERS, null, TestEvents.row(id, counter), Set.of(),
                new Pos(counter, snapshot), 7, Instant.EPOCH);
    }

    /** Every event of one partition up to its end, checking the offsets run 0, 1, 2... without a gap. */
    private static List<ChangeEvent> readPartition(String pipeline, int partition) throws Exception {
        KafkaLog.Settings settings = KafkaLogFactory.settings(pipeline, config(4, ""));
        List<ChangeEvent> out = new ArrayList<>();
        try (FollowedLog log = KafkaLogPartition.open(settings, CODEC, partition);
             LogReader reader = log.readFrom(Offset.of(0))) {
            Offset end = log.deliverableEnd();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (reader.next().compareTo(end) < 0 && System.nanoTime() < deadline) {
                for (LogEntry e : reader.read(1000, end)) {
                    assertThat(e.offset().value()).as("offsets without gaps").isEqualTo(out.size());
                    out.add(e.event());
                }
            }
            assertThat(reader.next()).isEqualTo(end);
        }
        return out;
    }

    @Test
    void routesEachKeyToOnePartitionNumberedWithoutGapsAndReopensExactly() throws Exception {
        String p = "plog" + (++pipelines);
        long counter = 0;
        List<ChangeEvent> all = new ArrayList<>();
        try (Log log = open(p, 4)) {
            for (int batch = 0; batch < 5; batch++) {
                List<ChangeEvent> events = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    events.add(change(batch == 0 ? Op.CREATE : Op.UPDATE, i % 40, counter++, false));
                }
                if (batch == 2) {
                    events.add(new ChangeEvent(Op.TRUNCATE, TestEvents.ORDERS, null, null, Set.of(),
                            new Pos(counter++, false), 7, Instant.EPOCH));
                }
                log.append(events, new Pos(counter - 1, false));
                all.addAll(events);
            }
            log.append(List.of(), new Pos(counter + 5, false)); // a position without events
            assertThat(log.end()).isEqualTo(Offset.of(1000 + 4));
        }
        // reopening fences, which also settles the last transaction: its records are visible after it
        try (Log reopened = open(p, 4)) {
            assertThat(reopened.createdNow()).isFalse();
            assertThat(reopened.end()).isEqualTo(Offset.of(1004));
            assertThat(reopened.lastPosition()).contains(new Pos(counter + 5, false));
        }
        Map<Object, Integer> partitionOfKey = new HashMap<>();
        long total = 0;
        for (int partition = 0; partition < 4; partition++) {
            List<ChangeEvent> events = readPartition(p, partition);
            total += events.size();
            assertThat(events).filteredOn(e -> e.op() == Op.TRUNCATE).as("the truncate in every partition").hasSize(1);
            long last = -1;
            for (ChangeEvent e : events) {
                assertThat(((Pos) e.position()).value()).as("source order").isGreaterThan(last);
                last = ((Pos) e.position()).value();
                if (e.op() != Op.TRUNCATE) {
                    Integer before = partitionOfKey.put(e.after().get(0), partition);
                    assertThat(before == null || before == partition).as("each key in one partition").isTrue();
                }
            }
        }
        assertThat(total).isEqualTo(1000 + 4);
        assertThat(partitionOfKey).hasSize(40);
        assertThatThrownBy(() -> open(p, 2)).isInstanceOfSatisfying(FerryException.class,
                        e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG))
                .hasMessageContaining("log.partitions: 4");
    }

    @Test
    void aSinkWorkerGetsSnapshotEventsOnlyOnceTheSnapshotFinished() throws Exception {
        String p = "plog" + (++pipelines);
        KafkaLog.Settings settings = KafkaLogFactory.settings(p, config(4, ""));
        try (Log log = open(p, 4); FollowedLog partition = KafkaLogPartition.open(settings, CODEC, 0)) {
            List<ChangeEvent> snapshot = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                snapshot.add(change(Op.READ, i, i, true));
            }
            log.append(snapshot, new Pos(99, true));
            // a commit's markers reach the partitions just after commitTransaction returns: look until it shows
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (partition.end().value() == 0) {
                assertThat(partition.deliverableEnd()).as("held back during the snapshot").isEqualTo(Offset.of(0));
                assertThat(System.nanoTime()).as("the snapshot's records visible").isLessThan(deadline);
            }
            assertThat(partition.deliverableEnd()).as("held back during the snapshot").isEqualTo(Offset.of(0));
            // the snapshot ends with an append of no events (capture's phase change): every partition hears it
            log.append(List.of(), new Pos(100, false));
            while (partition.deliverableEnd().value() == 0) {
                assertThat(System.nanoTime()).as("released once the snapshot finished").isLessThan(deadline);
            }
            assertThat(partition.deliverableEnd()).isEqualTo(partition.end());
        }
    }

    @Test
    void sinkWorkersOfTheGroupShareThePartitionsAndTakeOverFromOneThatLeaves() throws Exception {
        String p = "plog" + (++pipelines);
        try (Log log = open(p, 4)) {
            log.append(List.of(change(Op.CREATE, 1, 1, false)), new Pos(1, false));
        }
        ComponentConfig group = config(4, ", session.timeout.ms: 6000, heartbeat.interval.ms: 500");
        Worker a = new Worker(new KafkaLogFactory().openShared(p, group, CODEC));
        Worker b = new Worker(new KafkaLogFactory().openShared(p, group, CODEC));
        a.start();
        b.start();
        try {
            awaitCondition(() -> a.held().size() + b.held().size() == 4 && !a.held().isEmpty() && !b.held().isEmpty());
            TreeSet<Integer> union = new TreeSet<>(a.held());
            union.addAll(b.held());
            assertThat(union).containsExactly(0, 1, 2, 3);
            a.stop();
            awaitCondition(() -> b.held().size() == 4);
            assertThat(a.held()).as("a worker gives up its partitions when it stops").isEmpty();
        } finally {
            a.stop();
            b.stop();
        }
        assertThat(a.failure.get()).isNull();
        assertThat(b.failure.get()).isNull();
    }

    private static void awaitCondition(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waited 60 s for the group").isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    /** A sink worker that only records what it holds. */
    private static final class Worker implements SharedLog.Assignments {
        private final SharedLog log;
        private final Set<Integer> held = java.util.Collections.synchronizedSet(new TreeSet<>());
        private final AtomicBoolean stopped = new AtomicBoolean();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final Thread thread;

        Worker(SharedLog log) {
            this.log = log;
            this.thread = new Thread(() -> {
                try {
                    log.follow(this, stopped::get);
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
        }

        void start() {
            thread.start();
        }

        void stop() throws InterruptedException {
            stopped.set(true);
            thread.join();
        }

        Set<Integer> held() {
            synchronized (held) {
                return new TreeSet<>(held);
            }
        }

        @Override
        public void assigned(int partition, FollowedLog partitionLog) {
            try {
                partitionLog.close();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            held.add(partition);
        }

        @Override
        public void revoked(int partition) {
            held.remove(partition);
        }
    }
}
