package dev.ferry.bench;

import dev.ferry.event.ChangeEvent;
import dev.ferry.log.FileLog;
import dev.ferry.log.LogSettings;
import dev.ferry.log.Offset;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
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

/**
 * Append throughput of the embedded Log ({@link FileLog}), and the raw writes it is compared with.
 *
 * <p><b>Measured:</b> events per second (the primary score: one operation is one event, an append
 * carries {@value Workload#BATCH}) and bytes per second of Log frames (the secondary {@code bytes}
 * counter, frame headers included). One writer thread, as in a pipeline.
 * <ul>
 *   <li>{@code append}: {@link FileLog#append} on disk with {@code fsync: batch}:
 *       it writes the frame and fsyncs ({@code fdatasync}) before returning, durability per batch.</li>
 *   <li>{@code appendFsyncInterval}: the same with the default {@code fsync: interval} and its
 *       default {@code fsync_interval_ms}: appends return after the write, and one of them fsyncs once
 *       the interval has passed since the last fsync. The "without fsync per batch" variant.</li>
 *   <li>{@code appendTmpfs}: per-batch fsync again, on a RAM file system (default {@code /dev/shm})
 *       where fsync costs nothing: the Log's own CPU cost (encoding, CRC, copies, the index entry)
 *       with no disk at all.</li>
 *   <li>{@code rawWriteFsync}: the identical frame bytes, pre-encoded, written to a plain
 *       {@link FileChannel} on disk and forced per batch: the ceiling for fsync-per-batch.</li>
 *   <li>{@code rawWrite}: the same bytes without force: page-cache bandwidth, the ceiling of any
 *       writer that does not wait for the disk.</li>
 * </ul>
 *
 * <p><b>Workload:</b> {@link Workload}: batches of 1,000 inserts into one table, each event 200 or
 * 2,048 bytes encoded ({@code eventBytes}), random payloads. Files grow by appending, as the Log's
 * do; after each iteration old segments are deleted (and the raw file truncated) so the disk does not
 * fill. Files live under {@code -Dferry.bench.dir} (default {@code java.io.tmpdir}); put it on the
 * file system being measured.
 *
 * <p><b>Run</b> (from the repository root, after {@code ./mvnw -q -B -DskipTests -pl ferry-bench -am package},
 * which builds the jar from this checkout's ferry-core):
 * <pre>
 * java -jar ferry-bench/target/benchmarks.jar LogAppendBenchmark \
 *     -jvmArgsAppend -Dferry.bench.dir=ferry-bench/target/bench-data
 * </pre>
 * or {@code ferry-bench/run-log-bench.sh}, which adds the {@code dd} baseline and records the result
 * in {@code docs/benchmarks.md}. About three minutes for the ten cases: one fork each,
 * 4 warmup iterations of 2 s (the encoding path needs about 8 s of JIT before its throughput settles
 * on this 2-core machine) and 3 measured ones of 2 s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Thread)
public class LogAppendBenchmark {
    /** Encoded bytes per event. */
    @Param({"200", "2048"})
    public int eventBytes;

    /** The Log's default {@code fsync_interval_ms} where no sink's commit interval is known. */
    static final long FSYNC_INTERVAL_MILLIS = LogSettings.DEFAULT.options().fsyncIntervalMillis();

    private List<ChangeEvent> batch;
    private ByteBuffer frame;
    private long nextPosition;
    private Path diskDir;
    private Path tmpfsDir;
    private FileLog diskLog;
    private FileLog intervalLog;
    private FileLog tmpfsLog;
    private FileChannel raw;

    /** Bytes written per second, reported beside events per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Written {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
        }
    }

    @Setup(Level.Trial)
    public void open() throws IOException {
        batch = Workload.batch(eventBytes, 0);
        frame = ByteBuffer.wrap(Workload.frame(batch));
        diskDir = Files.createTempDirectory(Workload.baseDir(), "append-");
        tmpfsDir = Files.createTempDirectory(Workload.tmpfsDir(), "append-");
        diskLog = FileLog.open(diskDir.resolve("log"), BenchPosition.CODEC);
        intervalLog = FileLog.open(diskDir.resolve("interval-log"), BenchPosition.CODEC,
                new FileLog.Options(FileLog.Options.DEFAULT.segmentBytes(), FSYNC_INTERVAL_MILLIS));
        tmpfsLog = FileLog.open(tmpfsDir.resolve("log"), BenchPosition.CODEC);
        raw = FileChannel.open(diskDir.resolve("raw.bin"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    @TearDown(Level.Iteration)
    public void trim() throws IOException {
        diskLog.deleteBefore(diskLog.end());
        intervalLog.sync();
        intervalLog.deleteBefore(intervalLog.end());
        tmpfsLog.deleteBefore(tmpfsLog.end());
        raw.truncate(0);
        raw.position(0);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        diskLog.close();
        intervalLog.close();
        tmpfsLog.close();
        raw.close();
        Workload.delete(diskDir);
        Workload.delete(tmpfsDir);
    }

    @Benchmark
    @OperationsPerInvocation(Workload.BATCH)
    public Offset append(Written written) throws IOException {
        written.bytes += frame.capacity();
        return diskLog.append(batch, new BenchPosition(++nextPosition));
    }

    @Benchmark
    @OperationsPerInvocation(Workload.BATCH)
    public Offset appendFsyncInterval(Written written) throws IOException {
        written.bytes += frame.capacity();
        return intervalLog.append(batch, new BenchPosition(++nextPosition));
    }

    @Benchmark
    @OperationsPerInvocation(Workload.BATCH)
    public Offset appendTmpfs(Written written) throws IOException {
        written.bytes += frame.capacity();
        return tmpfsLog.append(batch, new BenchPosition(++nextPosition));
    }

    @Benchmark
    @OperationsPerInvocation(Workload.BATCH)
    public long rawWriteFsync(Written written) throws IOException {
        long n = writeFrame();
        raw.force(false);
        written.bytes += n;
        return n;
    }

    @Benchmark
    @OperationsPerInvocation(Workload.BATCH)
    public long rawWrite(Written written) throws IOException {
        long n = writeFrame();
        written.bytes += n;
        return n;
    }

    private long writeFrame() throws IOException {
        frame.clear();
        long n = 0;
        while (frame.hasRemaining()) {
            n += raw.write(frame);
        }
        return n;
    }
}
