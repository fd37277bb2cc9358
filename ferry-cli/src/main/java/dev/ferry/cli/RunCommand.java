package dev.ferry.cli;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.PipelineConfig;
import dev.ferry.error.FerryException;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.pipeline.PipelineAssembly;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry run -c FILE [--once [--window DAY | --from T --to T]]}: a stream, one batch run, or, with a
 * {@code schedule:} in the file, batch runs at the schedule's times ({@link ScheduledRuns}).
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run a pipeline: as a stream until stopped (SIGTERM or Ctrl-C drains and commits), "
                + "or with --once as a batch that catches up to now and exits.")
final class RunCommand implements Callable<Integer> {
    static final int MAX_BATCH_EVENTS = 8192;

    @Option(names = {"-c", "--config"}, required = true, description = "the pipeline file")
    Path config;

    @Option(names = "--once", description = "deliver every change up to the moment the run started, then exit 0")
    boolean once;

    @Option(names = "--window", description = "with --once and a jdbc source: extract one day (yesterday, today or a "
            + "date such as 2026-11-30) into sink partitions named by it, replacing them when run again")
    String window;

    @Option(names = "--from", description = "with --to: the window's start, a date or a date and time (2026-11-30T06:00)")
    String from;

    @Option(names = "--to", description = "with --from: the window's end (not included)")
    String to;

    @Option(names = "--zone", description = "the time zone of --window, --from and --to; default: the machine's")
    String zone;

    @Override
    public Integer call() throws Exception {
        PipelineConfig pc = ConfigLoader.load(config);
        java.util.Optional<dev.ferry.source.Window> chosen = WindowOptions.parse(window, from, to, zone, once,
                java.time.Clock.systemDefaultZone());
        AdminServer.validate(pc.admin());
        // a schedule makes ferry run a scheduler of batch runs; --once runs one batch now, whatever the schedule
        Schedule schedule = pc.schedule() == null ? null : Schedule.read(pc.schedule());
        if (once) {
            schedule = null;
        }
        if (chosen.isPresent()) {
            PipelineAssembly.requireWindowPartitions(pc, window != null ? "--window" : "--from/--to");
        } else if (schedule != null && schedule.dayWindow()) {
            PipelineAssembly.requireWindowPartitions(pc, "schedule.window: day");
        }
        AtomicInteger exitCode = new AtomicInteger(1);
        AtomicBoolean signalled = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Pipeline> running = new AtomicReference<>();
        // SIGTERM / Ctrl-C: stop capture, let delivery drain and commit, then exit with the run's own
        // code (halt, because the JVM would otherwise report the signal as exit code 143).
        Thread hook = new Thread(() -> {
            signalled.set(true);
            Pipeline p = running.get();
            if (p != null) {
                p.stop();
            }
            try {
                done.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(exitCode.get());
        }, "ferry-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            if (schedule != null) {
                ScheduledRuns runs = new ScheduledRuns(schedule, java.time.Clock.systemDefaultZone(),
                        pc.state().resolve("schedule.json"));
                runs.run(w -> !signalled.get() && runPipeline(pc, Mode.ONCE, w, running, signalled),
                        time -> waitUntil(time, signalled));
                exitCode.set(0);
                return 0;
            }
            boolean complete = runPipeline(pc, once ? Mode.ONCE : Mode.STREAM, chosen, running, signalled);
            if (!complete) {
                // a batch run cut short must not look "caught up" to a scheduler
                System.err.println("ferry: the batch run was stopped before it caught up; everything delivered so far "
                        + "is committed. Run it again to finish.");
                exitCode.set(1);
                return 1;
            }
            exitCode.set(0);
            return 0;
        } catch (FerryException e) {
            exitCode.set(e.kind().exitCode());
            if (signalled.get()) {
                System.err.println("ferry: " + e.getMessage()); // the halt comes before picocli's handler
            }
            throw e;
        } finally {
            done.countDown();
            if (!signalled.get()) {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
        }
    }

    /** One run of the pipeline (a batch with {@code Mode.ONCE}); true when it did all it was asked. */
    private static boolean runPipeline(PipelineConfig pc, Mode mode, java.util.Optional<dev.ferry.source.Window> window,
                                       AtomicReference<Pipeline> running, AtomicBoolean signalled) throws Exception {
        try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
            if (window.isPresent()) {
                assembly.source().window(window.get());
            }
            Pipeline pipeline = assembly.pipeline(MAX_BATCH_EVENTS);
            running.set(pipeline);
            if (signalled.get()) {
                pipeline.stop();
            }
            try (AdminServer admin = AdminServer.start(pc.admin(), pc.name(), pipeline, assembly.deadLetterLog())) {
                return pipeline.run(mode);
            } finally {
                running.set(null);
            }
        }
    }

    /** Sleeps until the time, a second at most at a time; false once a signal asked to stop. */
    private static boolean waitUntil(java.time.Instant time, AtomicBoolean signalled) throws InterruptedException {
        while (!signalled.get()) {
            long millis = java.time.Duration.between(java.time.Instant.now(), time).toMillis();
            if (millis <= 0) {
                return true;
            }
            Thread.sleep(Math.min(millis, 1000));
        }
        return false;
    }
}
