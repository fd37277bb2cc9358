package dev.ferry.sink.kafka;

import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.log.FollowedLog;
import dev.ferry.log.LogReader;
import dev.ferry.log.Offset;
import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

/**
 * One partition of a {@link KafkaLog} as a sink worker reads it: no producer, no fencing. Its end is
 * its tail as last read ({@link LogTail}); {@link #deliverableEnd} reads the tail again and releases
 * the partition's events once the tail's position (which every append writes to every partition) is
 * past the snapshot. The tail is read by one thread (the pipeline's follower); readers have their
 * own consumers.
 */
final class KafkaLogPartition implements FollowedLog {
    private final KafkaLog.Settings settings;
    private final PositionCodec positions;
    private final TopicPartition partition;
    private final KafkaConsumer<byte[], byte[]> tailConsumer;
    private volatile LogTail tail;
    private long deliverable;

    private KafkaLogPartition(KafkaLog.Settings settings, PositionCodec positions, TopicPartition partition) {
        this.settings = settings;
        this.positions = positions;
        this.partition = partition;
        this.tailConsumer = KafkaLog.consumer(settings, "tail-" + partition.partition());
    }

    /** The partition, with its tail read once. */
    static KafkaLogPartition open(KafkaLog.Settings settings, PositionCodec positions, int partition) throws FerryException {
        KafkaLogPartition log = new KafkaLogPartition(settings, positions, new TopicPartition(settings.topic(), partition));
        try {
            log.deliverableEnd();
        } catch (IOException e) {
            log.close();
            throw KafkaFailures.classify(e.getCause() == null ? e : e.getCause(), "reading the end of " + log.partition,
                    settings.bootstrapServers(), null);
        }
        return log;
    }

    @Override
    public synchronized Offset deliverableEnd() throws IOException {
        try {
            tail = LogTail.read(tailConsumer, partition, positions);
        } catch (KafkaException e) {
            throw new IOException("Cannot read the end of the Kafka log " + partition + ": " + e, e);
        }
        if (tail.position().isPresent() && !tail.position().get().snapshot()) {
            deliverable = Math.max(deliverable, tail.next());
        }
        return Offset.of(deliverable);
    }

    @Override
    public LogReader readFrom(Offset first) {
        if (first.value() < tail.start()) {
            throw new IllegalArgumentException("offset " + first + " is no longer in " + partition + " of the Kafka log, "
                    + "which starts at " + tail.start() + " (the topic's retention deleted the older records)");
        }
        return new KafkaLogReader(KafkaLog.consumer(settings, "reader-" + partition.partition()), partition, positions,
                first.value());
    }

    @Override
    public Offset end() {
        return Offset.of(tail.next());
    }

    @Override
    public Offset start() {
        return Offset.of(tail.start());
    }

    @Override
    public Optional<Position> lastPosition() {
        return tail.position();
    }

    @Override
    public boolean createdNow() {
        return false;
    }

    /** The capture appends; a sink worker only reads. */
    @Override
    public Offset append(List<ChangeEvent> events, Position position) {
        throw new UnsupportedOperationException("a sink worker does not append to the Log");
    }

    @Override
    public void sync() {
    }

    @Override
    public void syncIfDue() {
    }

    /** Kafka's retention deletes records, not Ferry. */
    @Override
    public void deleteBefore(Offset oldestStillNeeded, long minAgeMillis) {
    }

    @Override
    public long sizeBytes() {
        return 0;
    }

    @Override
    public void reset() {
        throw new UnsupportedOperationException("a sink worker does not reset the Log");
    }

    @Override
    public boolean awaitEnd(Offset offset, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (tail.next() <= offset.value()) {
            if (System.currentTimeMillis() >= deadline) {
                return false;
            }
            Thread.sleep(100);
        }
        return true;
    }

    @Override
    public synchronized void close() {
        tailConsumer.close(java.time.Duration.ofSeconds(5));
    }
}
