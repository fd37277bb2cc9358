package dev.ferry.sink.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ComponentConfig;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.log.Log;
import dev.ferry.log.LogEntry;
import dev.ferry.log.LogReader;
import dev.ferry.log.Offset;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.source.Check;
import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import dev.ferry.source.Source;
import dev.ferry.source.SourceBatch;
import dev.ferry.source.SourceInfo;
import dev.ferry.testkit.PrivateKafka;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Log on Kafka against a private broker: offsets without gaps across records and transactions,
 * reading from any offset, reopening where the last committed append ended, a capture killed inside
 * an append (its records never read, its producer fenced), an append while the broker is down (it
 * waits, then lands once), and a reset.
 */
class KafkaLogIT {
    @RegisterExtension
    static final PrivateKafka KAFKA = new PrivateKafka();
    private static final PositionCodec COUNTERS = new PositionCodec() {
        @Override
        public byte[] encode(Position position) {
            return ByteBuffer.allocate(8).putLong(0, ((TestEvents.Counter) position).value()).array();
        }

        @Override
        public Position decode(byte[] bytes) {
            return new TestEvents.Counter(ByteBuffer.wrap(bytes).getLong());
        }
    };
    private static int pipelines;

    private static Log open(String pipeline) throws Exception {
        return open(pipeline, "{max.block.ms: 10000}");
    }

    private static Log open(String pipeline, String properties) throws Exception {
        return new KafkaLogFactory().open(pipeline, ComponentConfig.ofYaml("log", "type: kafka\nbootstrap_servers: "
                + KAFKA.broker().bootstrapServers() + "\nproperties: " + properties + "\n"), Path.of("unused"), COUNTERS);
    }

    /** Events at offsets {@code from..to-1}, each with its offset as position. */
    private static List<ChangeEvent> events(long from, long to) {
        List<ChangeEvent> out = new ArrayList<>();
        for (long i = from; i < to; i++) {
            out.add(TestEvents.insert(i, i));
        }
        return out;
    }

    /** The offsets read from {@code first} to the end, checked against each event's own counter. */
    private static List<Long> readAll(Log log, long first) throws IOException {
        List<Long> offsets = new ArrayList<>();
        try (LogReader reader = log.readFrom(Offset.of(first))) {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (reader.next().value() < log.end().value() && System.nanoTime() < deadline) {
                for (LogEntry e : reader.read(1000, log.end())) {
                    assertThat(((TestEvents.Counter) e.event().position()).value()).isEqualTo(e.offset().value());
                    offsets.add(e.offset().value());
                }
            }
        }
        return offsets;
    }

    private static List<Long> range(long from, long to) {
        List<Long> out = new ArrayList<>();
        for (long i = from; i < to; i++) {
            out.add(i);
        }
        return out;
    }

    @Test
    void appendsReadsFromAnyOffsetAndReopensWhereTheLastAppendEnded() throws Exception {
        String p = "log" + (++pipelines);
        try (Log log = open(p)) {
            assertThat(log.createdNow()).isTrue();
            assertThat(log.lastPosition()).isEmpty();
            assertThat(log.append(events(0, 3), new TestEvents.Counter(2))).isEqualTo(Offset.of(3));
            log.append(List.of(), new TestEvents.Counter(5)); // a position without events
            log.append(events(3, 2503), new TestEvents.Counter(2502)); // three records of at most 1,024 events
            assertThat(log.end()).isEqualTo(Offset.of(2503));
            assertThat(readAll(log, 0)).containsExactlyElementsOf(range(0, 2503));
            assertThat(readAll(log, 1500)).containsExactlyElementsOf(range(1500, 2503));
            assertThat(readAll(log, 2503)).isEmpty();
        }
        try (Log log = open(p)) {
            assertThat(log.createdNow()).isFalse();
            assertThat(log.end()).isEqualTo(Offset.of(2503));
            assertThat(log.lastPosition()).contains(new TestEvents.Counter(2502));
            log.append(events(2503, 2510), new TestEvents.Counter(2509));
            assertThat(readAll(log, 2000)).containsExactlyElementsOf(range(2000, 2510));
        }
    }

    @Test
    void aCaptureKilledInsideAnAppendLeavesNothingVisibleAndIsFenced() throws Exception {
        String p = "log" + (++pipelines);
        try (Log log = open(p)) {
            log.append(events(0, 10), new TestEvents.Counter(9));
        }
        // a Ferry killed between its sends and its commit: the same transactional.id, a transaction left open
        KafkaProducer<byte[], byte[]> zombie = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "ferry." + p + ".log.capture"),
                new ByteArraySerializer(), new ByteArraySerializer());
        zombie.initTransactions();
        zombie.beginTransaction();
        RecordHeaders headers = new RecordHeaders();
        headers.add(KafkaLog.FIRST, ByteBuffer.allocate(8).putLong(0, 10).array());
        headers.add(KafkaLog.COUNT, ByteBuffer.allocate(4).putInt(0, 5).array());
        headers.add(KafkaLog.POSITION, COUNTERS.encode(new TestEvents.Counter(14)));
        zombie.send(new ProducerRecord<>("ferry." + p + ".log", 0, null, null, new byte[] {1, 2, 3}, headers));
        zombie.flush();

        try (Log restarted = open(p)) {
            assertThat(restarted.end()).as("the open transaction was aborted by fencing").isEqualTo(Offset.of(10));
            assertThat(restarted.lastPosition()).contains(new TestEvents.Counter(9));
            restarted.append(events(10, 13), new TestEvents.Counter(12));
            assertThat(readAll(restarted, 0)).containsExactlyElementsOf(range(0, 13));
            try (Log second = open(p)) {
                // a second capture of the same pipeline fences the first, whose appends then fail
                assertThatThrownBy(() -> restarted.append(events(13, 14), new TestEvents.Counter(13)))
                        .isInstanceOf(IOException.class).hasMessageContaining("fenced");
                assertThat(second.end()).isEqualTo(Offset.of(13));
            }
        } finally {
            zombie.close(java.time.Duration.ZERO);
        }
    }

    @Test
    void anAppendWhileTheBrokerIsDownWaitsForItAndLandsOnce() throws Exception {
        String p = "log" + (++pipelines);
        try (Log log = open(p, "{max.block.ms: 4000, request.timeout.ms: 1500, delivery.timeout.ms: 2000}")) {
            log.append(events(0, 10), new TestEvents.Counter(9));
            KAFKA.broker().kill();
            Thread restart = new Thread(() -> {
                try {
                    Thread.sleep(6000); // longer than the producer's timeouts: the first attempt fails
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                KAFKA.broker().resume();
            });
            restart.start();
            try {
                assertThat(log.append(events(10, 20), new TestEvents.Counter(19))).isEqualTo(Offset.of(20));
            } finally {
                restart.join();
            }
            assertThat(readAll(log, 0)).containsExactlyElementsOf(range(0, 20));
        }
        try (Log reopened = open(p)) {
            assertThat(reopened.end()).isEqualTo(Offset.of(20));
            assertThat(reopened.lastPosition()).contains(new TestEvents.Counter(19));
        }
    }

    /**
     * SIGTERM while the brokers are away: {@code Pipeline.stop} tells the Log to stop retrying, so the
     * run returns with a message that says why, instead of retrying for {@link KafkaLog#APPEND_RETRY}.
     * (The bound below is the test's own patience, far under that budget; not a measure of speed.)
     */
    @Test
    void stoppingThePipelineWhileTheBrokerIsDownEndsTheRetriesAndReturns() throws Exception {
        String p = "log" + (++pipelines);
        try (Log log = open(p, "{max.block.ms: 3000, request.timeout.ms: 1500, delivery.timeout.ms: 3000}")) {
            Pipeline pipeline = new Pipeline(p, new EndlessSource(), log, List.of(), List.of(), 100);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread run = new Thread(() -> {
                try {
                    pipeline.run(Mode.STREAM);
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "pipeline");
            run.start();
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (log.end().value() < 100) {
                assertThat(System.nanoTime()).as("the capture appends").isLessThan(deadline);
                Thread.sleep(50);
            }
            KAFKA.broker().kill();
            try {
                // the append fails on the producer's timeouts, then waits to retry for up to 5 minutes
                Thread.sleep(5000);
                pipeline.stop();
                run.join(Duration.ofMinutes(2).toMillis());
                assertThat(run.isAlive()).as("the pipeline returned on stop, without the append's retry budget").isFalse();
                assertThat(failure.get()).isInstanceOf(FerryException.class);
                assertThat(((FerryException) failure.get()).kind()).isEqualTo(ErrorKind.CONNECTIVITY);
                assertThat(failure.get().getMessage()).contains("Stopped while the Log could not be written")
                        .contains("not acknowledged").contains(KAFKA.broker().bootstrapServers());
            } finally {
                KAFKA.broker().resume();
            }
        }
    }

    /** A source whose changes never end: one insert per poll, numbered from 0, positions its counter. */
    private static final class EndlessSource implements Source {
        private long next;
        private volatile boolean stopped;

        @Override
        public SourceInfo info() {
            return TestEvents.SOURCE;
        }

        @Override
        public List<Check> check() {
            return List.of();
        }

        @Override
        public Position end() {
            return new TestEvents.Counter(Long.MAX_VALUE);
        }

        @Override
        public void start(Optional<Position> resumeAfter, boolean startingOver) {
            next = resumeAfter.map(q -> ((TestEvents.Counter) q).value() + 1).orElse(0L);
        }

        @Override
        public SourceBatch poll(Duration maxWait) throws InterruptedException {
            if (stopped) {
                Thread.sleep(Math.min(20, maxWait.toMillis()));
                return new SourceBatch(List.of(), new TestEvents.Counter(next - 1));
            }
            Thread.sleep(1);
            ChangeEvent e = TestEvents.insert(next, next);
            next++;
            return new SourceBatch(List.of(e), e.position());
        }

        @Override
        public boolean caughtUp(Position end) {
            return false;
        }

        @Override
        public void acknowledge(Position durable) {
        }

        @Override
        public void stop() {
            stopped = true;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void resetDeletesEverythingAndOffsetsStartAgain() throws Exception {
        String p = "log" + (++pipelines);
        try (Log log = open(p)) {
            log.append(events(0, 20), new TestEvents.Counter(19));
            log.reset();
            assertThat(log.end()).isEqualTo(Offset.of(0));
            assertThat(log.lastPosition()).isEmpty();
            log.append(events(0, 5), new TestEvents.Counter(4));
            assertThat(readAll(log, 0)).containsExactlyElementsOf(range(0, 5));
        }
        try (Log reopened = open(p)) {
            assertThat(reopened.createdNow()).isFalse();
            assertThat(reopened.start()).isEqualTo(Offset.of(0));
            assertThat(reopened.end()).isEqualTo(Offset.of(5));
        }
    }

    @Test
    void aReaderPositionedBeforeAResetReadsTheEventsAppendedAfterIt() throws Exception {
        String p = "log" + (++pipelines);
        try (Log log = open(p); LogReader reader = log.readFrom(Offset.of(0))) {
            // a sink's delivery reads (and positions its reader) while the snapshot is not deliverable yet
            assertThat(reader.read(1000, Offset.of(0))).isEmpty();
            log.append(events(0, 20), new TestEvents.Counter(19)); // a snapshot, cut off by a lost connection
            log.reset(); // Pipeline.reconnect: the snapshot starts over
            log.append(events(0, 5), new TestEvents.Counter(4)); // taken again
            List<Long> offsets = new ArrayList<>();
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (offsets.size() < 5 && System.nanoTime() < deadline) {
                for (LogEntry e : reader.read(1000, log.end())) {
                    offsets.add(e.offset().value());
                }
            }
            assertThat(offsets).containsExactlyElementsOf(range(0, 5));
        }
    }
}
