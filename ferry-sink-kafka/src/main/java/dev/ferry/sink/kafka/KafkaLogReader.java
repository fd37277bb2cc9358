package dev.ferry.sink.kafka;

import dev.ferry.event.ChangeEvent;
import dev.ferry.log.EventBytes;
import dev.ferry.log.LogEntry;
import dev.ferry.log.LogReader;
import dev.ferry.log.Offset;
import dev.ferry.source.PositionCodec;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads a {@link KafkaLog} forward from a Log offset with its own {@code read_committed} consumer
 * (assigned the partition, no group). The events of a record are decoded when it arrives and handed
 * out up to the caller's limit; at most one poll's records ({@code max.poll.records} 16) are held.
 * Used by one thread.
 */
final class KafkaLogReader implements LogReader {
    private static final Duration POLL = Duration.ofMillis(100);

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final TopicPartition partition;
    private final PositionCodec positions;
    /** Decoded events not handed out yet, from offset {@link #next} on. */
    private final Deque<Decoded> pending = new ArrayDeque<>();
    private long next;
    private boolean positioned;

    KafkaLogReader(KafkaConsumer<byte[], byte[]> consumer, TopicPartition partition, PositionCodec positions, long first) {
        this.consumer = consumer;
        this.partition = partition;
        this.positions = positions;
        this.next = first;
    }

    @Override
    public List<LogEntry> read(int maxEvents, long maxBytes, Offset limit) throws IOException {
        try {
            if (!positioned) {
                consumer.assign(List.of(partition));
                consumer.seek(partition, kafkaOffsetOf(next));
                positioned = true;
            }
            // a poll only while something below the limit is still to come: then it returns soon
            if (pending.isEmpty() && next < limit.value()) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL);
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    take(r);
                }
            }
        } catch (KafkaException e) {
            throw new IOException("Cannot read the Kafka log " + partition.topic() + " at offset " + next + ": " + e, e);
        }
        List<LogEntry> out = new ArrayList<>(Math.min(maxEvents, pending.size()));
        long bytes = 0;
        while (out.size() < maxEvents && bytes < maxBytes && !pending.isEmpty() && next < limit.value()) {
            if (!out.isEmpty() && bytes + pending.peek().bytes() > maxBytes) {
                break; // it would pass the bound: it starts the next read (alone, if larger than the bound)
            }
            Decoded d = pending.poll();
            out.add(new LogEntry(Offset.of(next++), d.event(), d.bytes()));
            bytes += d.bytes();
        }
        return out;
    }

    /** Queues the record's events from {@link #next} on (the first record read may start before it). */
    private void take(ConsumerRecord<byte[], byte[]> r) throws IOException {
        int count = KafkaLog.intHeader(r, KafkaLog.COUNT);
        if (count == 0) {
            return;
        }
        long first = KafkaLog.longHeader(r, KafkaLog.FIRST);
        long expected = next + pending.size();
        if (first + count <= expected) {
            return; // wholly before the reader's offset
        }
        if (first > expected) {
            throw new IOException("The Kafka log " + partition.topic() + " has no events " + expected + ".." + (first - 1)
                    + " (the record at Kafka offset " + r.offset() + " starts at " + first + "): the topic was changed "
                    + "outside Ferry, or its retention deleted them.");
        }
        int[] sizes = new int[count];
        List<ChangeEvent> events = EventBytes.decodeAll(r.value(), count, positions, sizes);
        for (int i = (int) (expected - first); i < count; i++) {
            pending.add(new Decoded(events.get(i), sizes[i]));
        }
    }

    /** An event not handed out yet, with its size in the Log's encoding. */
    private record Decoded(ChangeEvent event, int bytes) {
    }

    /**
     * The Kafka offset to read from to find Log offset {@code target}: the record that holds it, or
     * after the last record before it. Found by halving: among committed records the Log's offsets
     * grow with Kafka's.
     */
    private long kafkaOffsetOf(long target) {
        long lo = consumer.beginningOffsets(List.of(partition), KafkaLog.TIMEOUT).get(partition);
        long hi = consumer.endOffsets(List.of(partition), KafkaLog.TIMEOUT).get(partition);
        long from = lo;
        while (lo < hi) {
            long mid = lo + (hi - lo) / 2;
            ConsumerRecord<byte[], byte[]> r = firstAtOrAfter(consumer, partition, mid, hi);
            if (r == null) {
                hi = mid;
                continue;
            }
            long first = KafkaLog.longHeader(r, KafkaLog.FIRST);
            int count = KafkaLog.intHeader(r, KafkaLog.COUNT);
            if (first + count <= target) {
                from = r.offset() + 1; // wholly before the target
                lo = r.offset() + 1;
            } else if (first > target) {
                hi = mid;
            } else {
                return r.offset();
            }
        }
        return from;
    }

    /** The first committed record at a Kafka offset in {@code [from, end)}, or null when there is none. */
    static ConsumerRecord<byte[], byte[]> firstAtOrAfter(KafkaConsumer<byte[], byte[]> consumer, TopicPartition partition,
                                                         long from, long end) {
        consumer.seek(partition, from);
        long deadline = System.nanoTime() + KafkaLog.TIMEOUT.toNanos();
        while (consumer.position(partition) < end) {
            if (System.nanoTime() > deadline) {
                throw new org.apache.kafka.common.errors.TimeoutException("reading " + partition + " from offset " + from
                        + " took longer than " + KafkaLog.TIMEOUT.toSeconds() + " s");
            }
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                return r.offset() < end ? r : null;
            }
        }
        return null;
    }

    @Override
    public Offset next() {
        return Offset.of(next);
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
