package dev.ferry.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import com.sun.management.OperatingSystemMXBean;
import dev.ferry.config.ConfigLoader;
import dev.ferry.config.PipelineConfig;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.pipeline.PipelineAssembly;
import dev.ferry.pipeline.PipelineStats;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;

/**
 * One {@code ferry run --once} of a pipeline file in a process of its own, for {@link SinkBench}: the
 * pipeline as {@code ferry run} assembles it (source, Log and sinks from the file, batches of up to
 * 8,192 events), so that the memory it reports is this run's alone.
 *
 * <p>Argument: the pipeline file. Prints one line, {@code result SECONDS DELIVERED SNAPSHOT_ROWS
 * STREAMED CPU_SECONDS PEAK_HEAP_AFTER_GC_BYTES PEAK_HEAP_USED_BYTES PEAK_RSS_KB}: wall-clock seconds
 * of the run (the JVM's start not included), the events the first sink took, the snapshot rows and
 * changes captured, the process's CPU time, the heap still in use after a collection at its highest
 * (the live set), the heap in use at its highest (sampled every 10 ms, garbage included), and VmHWM.
 */
public final class SinkBenchRun {
    private SinkBenchRun() {
    }

    public static void main(String[] args) throws Exception {
        AtomicLong peakAfterGc = new AtomicLong();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            ((NotificationEmitter) gc).addNotificationListener((n, handback) -> {
                if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
                    GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
                    long used = info.getGcInfo().getMemoryUsageAfterGc().values().stream().mapToLong(MemoryUsage::getUsed).sum();
                    peakAfterGc.accumulateAndGet(used, Math::max);
                }
            }, null, null);
        }
        AtomicLong peakUsed = new AtomicLong();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peakUsed.accumulateAndGet(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), Math::max);
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "heap-sampler");
        sampler.setDaemon(true);
        sampler.start();

        PipelineConfig config = ConfigLoader.load(Path.of(args[0]));
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long start = System.nanoTime();
        PipelineStats stats;
        try (PipelineAssembly assembly = PipelineAssembly.create(config)) {
            Pipeline pipeline = assembly.pipeline(CdcBench.FERRY_RUN_BATCH_EVENTS);
            if (!pipeline.run(Mode.ONCE)) {
                throw new IllegalStateException("the run stopped before it caught up");
            }
            stats = pipeline.stats();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        sampler.interrupt();
        System.out.printf(Locale.ROOT, "result %.3f %d %d %d %.2f %d %d %d%n", seconds, stats.sinks().get(0).delivered(),
                stats.snapshotRows(), stats.streamedChanges(), os.getProcessCpuTime() / 1e9, peakAfterGc.get(),
                Math.max(peakUsed.get(), peakAfterGc.get()),
                StreamingFerry.statusKb("VmHWM"));
    }
}
