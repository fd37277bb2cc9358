package dev.ferry.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.ferry.config.ComponentConfig;
import dev.ferry.log.FileLog;
import dev.ferry.log.LogSettings;
import dev.ferry.log.SyncListener;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.postgres.PostgresSourceFactory;
import dev.ferry.sink.SinkSettings;
import dev.ferry.sink.files.JsonlSinkFactory;
import dev.ferry.source.Source;
import dev.ferry.source.SourceInfo;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Ferry streaming from PostgreSQL into JSONL files in a process of its own, for {@link StreamBench}:
 * the pipeline {@code ferry run} builds (the postgres source, the file Log, the JSONL sink), with the
 * sink wrapped in a {@link LatencySink}. Its own process, so that its memory (peak RSS) and CPU time
 * are Ferry's alone.
 *
 * <p>Arguments: {@code NAME PORT DATABASE USER TABLES STATE_FOLDER}; the password comes in the
 * environment variable {@code FERRY_BENCH_PASSWORD}. Commands, one per line on stdin, each answered by
 * one line on stdout:
 * <ul>
 *   <li>{@code reset}: forget the latencies and the Log's fsyncs recorded so far; answers {@code ok};</li>
 *   <li>{@code report}: answers {@code report COUNT P50_US P99_US MAX_US CPU_SECONDS PEAK_RSS_KB RSS_KB
 *       FSYNCS FSYNC_TOTAL_US FSYNC_MAX_US MAX_GAP_US HANDED_P50_US HANDED_P99_US}: the latencies, the
 *       process, the Log's fsyncs since the reset, the longest time between two of the sink's writes with
 *       changes, and the latencies to the sink's write being called (see {@link LatencySink});</li>
 *   <li>{@code stop}: stops the pipeline cleanly and exits; answers {@code stopped}.</li>
 * </ul>
 */
public final class StreamingFerry {
    private StreamingFerry() {
    }

    public static void main(String[] args) throws Exception {
        String name = args[0];
        String yaml = "type: postgres\nhost: localhost\nport: " + args[1] + "\ndatabase: " + args[2] + "\nuser: " + args[3]
                + "\npassword: ${env:FERRY_BENCH_PASSWORD}\ntables: [" + args[4] + "]\nsnapshot: never\n";
        Path state = Path.of(args[5]);
        PostgresSourceFactory factory = new PostgresSourceFactory();
        JsonlSinkFactory jsonl = new JsonlSinkFactory();
        ComponentConfig sinkConfig = ComponentConfig.ofYaml("sink", "type: jsonl\npath: '" + state.resolve("jsonl") + "'\n"
                + (System.getenv("FERRY_BENCH_SINK_YAML") == null ? "" : System.getenv("FERRY_BENCH_SINK_YAML") + "\n"));
        try (Source source = factory.create(name, ComponentConfig.ofYaml("source", yaml));
             FileLog log = FileLog.open(state.resolve("log"), factory.positionCodec(),
                     logOptions(SinkSettings.read(sinkConfig, jsonl).commitIntervalMillis()));
             LatencySink sink = new LatencySink(jsonl.create(name, sinkConfig, source.info()))) {
            Syncs syncs = new Syncs();
            log.addSyncListener(syncs);
            source.workFolder(state.resolve("work"));
            Pipeline pipeline = new Pipeline(name, source, log, List.of(sink), List.of("jsonl"), CdcBench.FERRY_RUN_BATCH_EVENTS);
            pipeline.sinkSettings(List.of(SinkSettings.read(sinkConfig, jsonl))); // as ferry run: commit_interval_ms
            Thread runner = new Thread(() -> {
                try {
                    pipeline.run(Mode.STREAM);
                } catch (Exception e) {
                    e.printStackTrace();
                    System.exit(1);
                }
            }, "pipeline");
            runner.start();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String command; (command = in.readLine()) != null; ) {
                switch (command) {
                    case "reset" -> {
                        sink.reset();
                        syncs.reset();
                        System.out.println("ok");
                    }
                    case "report" -> {
                        long[] handed = sink.takeHanded();
                        System.out.println(report(sink.take()) + " " + syncs + " " + sink.maxGapMicros() + " "
                                + percentile(handed, 0.50) + " " + percentile(handed, 0.99));
                    }
                    case "threads" -> System.out.println("threads " + threadTicks());
                    case "stop" -> {
                        pipeline.stop();
                        runner.join();
                        System.out.println("stopped");
                        return;
                    }
                    default -> System.out.println("unknown command " + command);
                }
                System.out.flush();
            }
            pipeline.stop();
            runner.join();
        }
    }

    /** The Log's fsyncs since the last reset, heard from the capture thread: count, total and longest. */
    private static final class Syncs implements SyncListener {
        private long count;
        private long totalNanos;
        private long maxNanos;

        @Override
        public synchronized void synced(long nanos, long bytes, long events) {
            count++;
            totalNanos += nanos;
            maxNanos = Math.max(maxNanos, nanos);
        }

        synchronized void reset() {
            count = 0;
            totalNanos = 0;
            maxNanos = 0;
        }

        /** {@code FSYNCS FSYNC_TOTAL_US FSYNC_MAX_US}. */
        @Override
        public synchronized String toString() {
            return count + " " + totalNanos / 1000 + " " + maxNanos / 1000;
        }
    }

    /**
     * The Log's options as {@code ferry run} opens it beside a sink committing every {@code commitMillis}:
     * from {@code FERRY_BENCH_LOG_YAML}, a {@code log:} section, or those of a pipeline file without one.
     */
    private static FileLog.Options logOptions(long commitMillis) throws Exception {
        String yaml = System.getenv("FERRY_BENCH_LOG_YAML");
        return LogSettings.read(yaml == null ? null : ComponentConfig.ofYaml("log", yaml),
                LogSettings.Interval.beside(commitMillis)).options();
    }

    private static String report(long[] sorted) throws IOException {
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        return String.format(Locale.ROOT, "report %d %d %d %d %.2f %d %d", sorted.length, percentile(sorted, 0.50),
                percentile(sorted, 0.99), sorted.length == 0 ? 0 : sorted[sorted.length - 1],
                os.getProcessCpuTime() / 1e9, statusKb("VmHWM"), statusKb("VmRSS"));
    }

    /**
     * CPU time of this process's threads, grouped by name with digits dropped ({@code C2 CompilerThread0}
     * and {@code 1} count together), from /proc/self/task: {@code name=ticks;...}, in clock ticks.
     */
    static String threadTicks() throws IOException {
        java.util.TreeMap<String, Long> ticks = new java.util.TreeMap<>();
        try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("[0-9]", "")
                            .replace(';', ' ').replace('=', ' ').trim();
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    ticks.merge(name, Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum); // utime + stime
                } catch (java.nio.file.NoSuchFileException e) {
                    // the thread ended meanwhile
                }
            }
        }
        StringBuilder b = new StringBuilder();
        ticks.forEach((k, v) -> b.append(k.replace(' ', '_')).append('=').append(v).append(';'));
        return b.toString();
    }

    /** The value at quantile {@code q} of sorted values (nearest rank); 0 when there are none. */
    static long percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** A memory figure of this process from /proc/self/status, in kB. */
    static long statusKb(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim());
            }
        }
        return -1;
    }
}
