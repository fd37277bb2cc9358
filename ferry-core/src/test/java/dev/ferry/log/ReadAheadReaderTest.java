package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Log read ahead of a sink on a thread of its own: the same events in the same order as the
 * reader it wraps, never at or past the consumer's limit, and never more held ahead than its bounds.
 */
@Timeout(60)
class ReadAheadReaderTest {
    @TempDir
    Path dir;

    /** The wrapped reader, watched: what the reading thread asked of it and how far it got. */
    private static final class Watched implements LogReader {
        final LogReader reader;
        final AtomicLong highestLimit = new AtomicLong(-1);
        final AtomicLong readEvents = new AtomicLong();
        final AtomicBoolean closed = new AtomicBoolean();
        volatile IOException failNext;

        Watched(LogReader reader) {
            this.reader = reader;
        }

        @Override
        public List<LogEntry> read(int maxEvents, long maxBytes, Offset limit) throws IOException {
            IOException fail = failNext;
            if (fail != null) {
                throw fail;
            }
            highestLimit.accumulateAndGet(limit.value(), Math::max);
            List<LogEntry> read = reader.read(maxEvents, maxBytes, limit);
            readEvents.addAndGet(read.size());
            return read;
        }

        @Override
        public Offset next() {
            return reader.next();
        }

        @Override
        public void close() throws IOException {
            closed.set(true);
            reader.close();
        }
    }

    private FileLog log() throws IOException {
        return FileLog.open(dir, TestPosition.CODEC, new FileLog.Options(64 * 1024, 0));
    }

    /** Reads until {@code count} events came, each read of at most {@code perRead}, below {@code limit}. */
    private static List<LogEntry> readUntil(LogReader reader, int count, int perRead, long maxBytes, long limit)
            throws IOException {
        List<LogEntry> out = new ArrayList<>();
        while (out.size() < count) {
            List<LogEntry> read = reader.read(perRead, maxBytes, Offset.of(limit));
            assertThat(read.size()).isLessThanOrEqualTo(perRead);
            out.addAll(read);
        }
        return out;
    }

    @Test
    void givesTheLogsEventsInOrderOnceEachAsTheLimitGrows() throws Exception {
        try (FileLog log = log()) {
            log.append(LogEvents.inserts(0, 1000), new TestPosition(1));
            Watched watched = new Watched(log.readFrom(Offset.of(0)));
            try (ReadAheadReader reader = new ReadAheadReader(watched, 64, 1 << 20, true, "test-read")) {
                List<LogEntry> got = readUntil(reader, 400, 50, Long.MAX_VALUE, 400);
                assertThat(reader.read(50, Long.MAX_VALUE, Offset.of(400))).as("nothing at or past the limit").isEmpty();
                assertThat(watched.highestLimit.get()).isEqualTo(400);
                log.append(LogEvents.inserts(1000, 1500), new TestPosition(2));
                got.addAll(readUntil(reader, 1100, 7, Long.MAX_VALUE, 1500));
                assertThat(LogEvents.offsets(got)).isEqualTo(LogEvents.offsets(LogEvents.readAll(log, 0)));
                assertThat(LogEvents.events(got)).isEqualTo(LogEvents.events(LogEvents.readAll(log, 0)));
                assertThat(reader.next()).isEqualTo(Offset.of(1500));
            }
            assertThat(watched.closed).as("the wrapped reader is closed with it").isTrue();
        }
    }

    @Test
    void holdsNoMoreAheadThanItsBoundsWhileTheConsumerIsSlow() throws Exception {
        try (FileLog log = log()) {
            log.append(LogEvents.inserts(0, 2000), new TestPosition(1));
            Watched watched = new Watched(log.readFrom(Offset.of(0)));
            try (ReadAheadReader reader = new ReadAheadReader(watched, 100, 1 << 20, false, "test-read")) {
                List<LogEntry> first = reader.read(10, Long.MAX_VALUE, Offset.of(2000));
                long consumed = first.size();
                Thread.sleep(200); // the reading thread fills what it may hold, then must stop
                assertThat(watched.readEvents.get() - consumed).isLessThanOrEqualTo(100);
                long bytesPerEvent = first.get(1).bytes(); // not the first: it carries the table's schema
                readUntil(reader, 2000 - (int) consumed, 100, Long.MAX_VALUE, 2000);
                assertThat(watched.readEvents.get()).isEqualTo(2000);

                // bytes bound: a few events' worth
                log.append(LogEvents.inserts(2000, 2500), new TestPosition(2));
                try (ReadAheadReader small = new ReadAheadReader(log.readFrom(Offset.of(2000)), 1000, 5 * bytesPerEvent, false,
                        "test-read-small")) {
                    List<LogEntry> read = small.read(1000, Long.MAX_VALUE, Offset.of(2500));
                    Thread.sleep(100);
                    read.addAll(small.read(1000, Long.MAX_VALUE, Offset.of(2500)));
                    // 5 events' bytes, and one more that a read of what is left of them brings alone
                    assertThat(read.size()).as("at most 6 events held at a time").isLessThanOrEqualTo(12);
                }
            }
        }
    }

    @Test
    void aConsumersByteBoundIsKeptAndALargerEventComesAlone() throws Exception {
        try (FileLog log = log()) {
            log.append(LogEvents.inserts(0, 100), new TestPosition(1));
            try (ReadAheadReader reader = new ReadAheadReader(log.readFrom(Offset.of(0)), 1000, 1 << 20, false, "test-read")) {
                assertThat(reader.read(1000, 1, Offset.of(100))).as("the first event carries the schema").hasSize(1);
                List<LogEntry> one = reader.read(1000, 1, Offset.of(100));
                assertThat(one).as("larger than the bound: alone").hasSize(1);
                List<LogEntry> few = reader.read(1000, 3L * one.get(0).bytes(), Offset.of(100));
                assertThat(few).hasSize(3);
                assertThat(few.get(0).offset()).isEqualTo(Offset.of(2));
            }
        }
    }

    @Test
    void theWrappedReadersFailureReachesTheConsumer() throws Exception {
        try (FileLog log = log()) {
            log.append(LogEvents.inserts(0, 10), new TestPosition(1));
            Watched watched = new Watched(log.readFrom(Offset.of(0)));
            IOException broken = new IOException("segment 00000000000000000000.log: bad checksum");
            watched.failNext = broken;
            try (ReadAheadReader reader = new ReadAheadReader(watched, 100, 1 << 20, false, "test-read")) {
                assertThatThrownBy(() -> readUntil(reader, 10, 10, Long.MAX_VALUE, 10)).isSameAs(broken);
            }
            assertThat(watched.closed).isTrue();
        }
    }

    @Test
    void aReadWithNothingBelowItsLimitReturnsEmptyAtOnce() throws Exception {
        try (FileLog log = log();
             ReadAheadReader reader = new ReadAheadReader(log.readFrom(Offset.of(0)), 100, 1 << 20, false, "test-read")) {
            assertThat(reader.read(10, Long.MAX_VALUE, Offset.of(0))).isEmpty();
            assertThat(reader.next()).isEqualTo(Offset.of(0));
        }
    }
}
