package dev.ferry.bench;

import dev.ferry.event.ChangeEvent;
import dev.ferry.log.FileLog;
import dev.ferry.log.LogEntry;
import dev.ferry.log.LogReader;
import dev.ferry.log.Offset;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Read throughput of the embedded Log ({@link FileLog}) over a pre-written Log, and the raw read
 * it is compared with.
 *
 * <p><b>Measured:</b> events per second (the primary score: one operation is one event, a read
 * returns {@value Workload#BATCH}) and bytes per second of Log frames (the secondary {@code bytes}
 * counter). One reader thread, as one sink.
 * <ul>
 *   <li>{@code read}: {@link LogReader#read} of 1,000 events at a time from the start of the Log to
 *       its end, then again from the start: reading a frame, checking its CRC, decoding its events.</li>
 *   <li>{@code rawRead}: the same segment files read with a plain {@link FileChannel} in chunks of one
 *       frame, nothing decoded: the ceiling.</li>
 * </ul>
 *
 * <p><b>Workload:</b> a Log of about {@value #LOG_MEGABYTES} MB written at setup by appends of
 * 1,000 events of 200 or 2,048 bytes each ({@code eventBytes}; see {@link Workload}). It has just been
 * written, so it is read from the page cache, as a sink that keeps up with capture reads it: this
 * measures the Log's CPU cost of reading, not the disk's read speed. Files live under
 * {@code -Dferry.bench.dir} (default {@code java.io.tmpdir}).
 *
 * <p><b>Run</b> (from the repository root, after {@code ./mvnw -q -B -DskipTests -pl ferry-bench -am package},
 * which builds the jar from this checkout's ferry-core):
 * <pre>
 * java -jar ferry-bench/target/benchmarks.jar LogReadBenchmark \
 *     -jvmArgsAppend -Dferry.bench.dir=ferry-bench/target/bench-data
 * </pre>
 * or {@code ferry-bench/run-log-bench.sh}, which runs it with the append benchmark and the disk
 * baseline. About a minute and a half for the four cases: one fork each, 4 warmup and 3 measured
 * iterations of 2 s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Thread)
public class LogReadBenchmark {
    static final int LOG_MEGABYTES = 128;

    /** Encoded bytes per event. */
    @Param({"200", "2048"})
    public int eventBytes;

    private Path dir;
    private FileLog log;
    private Offset end;
    private LogReader reader;
    private int frameBytes;
    private List<Path> segments;
    private int segment;
    private FileChannel channel;
    private long channelPosition;
    private ByteBuffer chunk;

    /** Bytes read per second, reported beside events per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Read {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
        }
    }

    @Setup(Level.Trial)
    public void write() throws IOException {
        List<ChangeEvent> batch = Workload.batch(eventBytes, 0);
        frameBytes = Workload.frame(batch).length;
        dir = Files.createTempDirectory(Workload.baseDir(), "read-");
        log = FileLog.open(dir, BenchPosition.CODEC);
        long batches = (LOG_MEGABYTES * 1024L * 1024L) / frameBytes;
        for (long i = 1; i <= batches; i++) {
            log.append(batch, new BenchPosition(i));
        }
        end = log.end();
        reader = log.readFrom(Offset.of(0));
        try (Stream<Path> files = Files.list(dir)) {
            segments = files.filter(p -> p.toString().endsWith(".log")).sorted().toList();
        }
        chunk = ByteBuffer.allocate(frameBytes);
        channel = FileChannel.open(segments.get(0), StandardOpenOption.READ);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        reader.close();
        channel.close();
        log.close();
        Workload.delete(dir);
    }

    @Benchmark
    @OperationsPerInvocation(Workload.BATCH)
    public void read(Read read, Blackhole sink) throws IOException {
        List<LogEntry> entries = reader.read(Workload.BATCH, end);
        if (entries.isEmpty()) {
            // the Log holds whole batches, so the end falls between two reads: start over
            reader.close();
            reader = log.readFrom(Offset.of(0));
            entries = reader.read(Workload.BATCH, end);
        }
        read.bytes += frameBytes;
        sink.consume(entries);
    }

    @Benchmark
    @OperationsPerInvocation(Workload.BATCH)
    public void rawRead(Read read, Blackhole sink) throws IOException {
        chunk.clear();
        while (chunk.hasRemaining()) {
            int n = channel.read(chunk, channelPosition);
            if (n <= 0) {
                // segments hold whole frames, so a segment's end falls between two chunks
                channel.close();
                segment = (segment + 1) % segments.size();
                channel = FileChannel.open(segments.get(segment), StandardOpenOption.READ);
                channelPosition = 0;
                continue;
            }
            channelPosition += n;
        }
        read.bytes += chunk.capacity();
        sink.consume(chunk);
    }
}
