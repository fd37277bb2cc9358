package dev.ferry.sink.kafka;

import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Both ends of one partition of a {@link KafkaLog}, from its committed records: the first Log offset
 * it holds, the next one, and the source position of its last append. Every append writes a record
 * carrying its position to every partition, so each partition's tail knows the Log's last position.
 *
 * @param start    the Log offset of the partition's first event still held
 * @param next     the Log offset the partition's next event gets
 * @param position the position of the last committed append; empty for a partition never written
 */
record LogTail(long start, long next, Optional<Position> position) {

    /**
     * Reads the tail of {@code partition} with a {@code read_committed} consumer (assigning it). The
     * end is searched backwards in growing windows, since aborted records and transaction markers may
     * hide the last committed record.
     */
    static LogTail read(KafkaConsumer<byte[], byte[]> consumer, TopicPartition partition, PositionCodec positions) {
        consumer.assign(List.of(partition));
        long begin = consumer.beginningOffsets(List.of(partition), KafkaLog.TIMEOUT).get(partition);
        long end = consumer.endOffsets(List.of(partition), KafkaLog.TIMEOUT).get(partition); // the last stable offset
        ConsumerRecord<byte[], byte[]> first = KafkaLogReader.firstAtOrAfter(consumer, partition, begin, end);
        if (first == null) {
            return new LogTail(0, 0, Optional.empty());
        }
        for (long window = 16; ; window *= 4) {
            long from = Math.max(begin, end - window);
            ConsumerRecord<byte[], byte[]> last = null;
            consumer.seek(partition, from);
            long deadline = System.nanoTime() + KafkaLog.TIMEOUT.toNanos();
            while (consumer.position(partition) < end) {
                if (System.nanoTime() - deadline > 0) {
                    // a partial read would give a tail too early: offsets the topic holds would be reused
                    throw new org.apache.kafka.common.errors.TimeoutException("reading the Log's tail of " + partition
                            + " did not reach offset " + end + " within " + KafkaLog.TIMEOUT.toSeconds() + " s");
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.offset() < end && KafkaLog.header(r, KafkaLog.POSITION) != null) {
                        last = r;
                    }
                }
            }
            if (last != null || from == begin) {
                long nextOffset = last == null ? KafkaLog.longHeader(first, KafkaLog.FIRST)
                        : KafkaLog.longHeader(last, KafkaLog.FIRST) + KafkaLog.intHeader(last, KafkaLog.COUNT);
                Optional<Position> position = last == null ? Optional.empty()
                        : Optional.of(positions.decode(KafkaLog.header(last, KafkaLog.POSITION)));
                return new LogTail(KafkaLog.longHeader(first, KafkaLog.FIRST), nextOffset, position);
            }
        }
    }
}
