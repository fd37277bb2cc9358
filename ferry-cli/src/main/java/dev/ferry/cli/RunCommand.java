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
 * {@code schedule:} in the file, batch runs at the schedule's times ({@link ScheduledRuns}). With a Log
 * that processes share ({@code log: {type: kafka}}), {@code --role capture} runs only the capture and
 * {@code --role sinks} one of the sink workers that share the Log's partitions.
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

    /** Which part of the pipeline this process runs; both when not given. */
    enum Role { capture, sinks }

    @Option(names = "--role", description = "with log: {type: kafka}: run only the capture (capture), or be one of the "
            + "sink workers that share the Log's partitions (sinks); default: both in this process")
    Role role;

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
        if (role != null && (schedule != null || chosen.isPresent())) {
            throw FerryException.config("--role runs a stream: it does not go with a schedule, --window or --from/--to. "
                    + "Run those without --role.");
        }
        if (role == Role.sinks && once) {
            throw FerryException.config("--role sinks runs until stopped: a sink worker has no end to catch up to. "
                    + "Leave out --once (stop it with SIGTERM), or run ferry run --once without --role.");
        }
        if (chosen.isPresent()) {
            PipelineAssembly.requireWindowPartitions(pc, window != null ? "--window" : "--from/--to");
        } else if (schedule != null && schedule.dayWindow()) {
            PipelineAssembly.requireWindowPartitions(pc, "schedule.window: day");
        }
        if (schedule != null) {
            PipelineAssembly.requireOneLogPartition(pc); // now, not at the first scheduled run hours later
        }
        AtomicInteger exitCode = new AtomicInteger(1);
        AtomicBoolean signalled = new AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong signalledAt = new java.util.concurrent.atomic.AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Pipeline> running = new AtomicReference<>();
        AtomicReference<dev.ferry.pipeline.SinkWorkers> workers = new AtomicReference<>();
        // SIGTERM / Ctrl-C: stop capture, let delivery drain and commit, then exit with the run's own
        // code (halt, because the JVM would otherwise report the signal as exit code 143).
        Thread hook = new Thread(() -> {
            signalledAt.set(System.currentTimeMillis());
            signalled.set(true);
            Pipeline p = running.get();
            dev.ferry.pipeline.SinkWorkers w = workers.get();
            if (p != null) {
                p.stop(); // with a sink worker in this process, it is stopped once the capture's last append is in
            } else if (w != null) {
                w.stop();
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
                runs.run(w -> !signalled.get() && runPipeline(pc, Mode.ONCE, w, null, running, signalled::get),
                        time -> waitUntil(time, signalled));
                exitCode.set(0);
                return 0;
            }
            if (role == Role.sinks) {
                runSinkWorker(pc, workers, signalled);
                exitCode.set(0);
                return 0;
            }
            if (role == null && !once && chosen.isEmpty() && PipelineAssembly.logPartitions(pc) > 1) {
                runCaptureAndWorker(pc, running, workers, signalled, signalledAt);
                exitCode.set(0);
                return 0;
            }
            boolean complete = runPipeline(pc, once ? Mode.ONCE : Mode.STREAM, chosen, role, running, signalled::get);
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
                                       Role role, AtomicReference<Pipeline> running,
                                       java.util.function.BooleanSupplier stopAsked) throws Exception {
        try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
            if (window.isPresent()) {
                assembly.source().window(window.get());
            }
            Pipeline pipeline = role == Role.capture ? assembly.capturePipeline(MAX_BATCH_EVENTS)
                    : assembly.pipeline(MAX_BATCH_EVENTS);
            running.set(pipeline);
            if (stopAsked.getAsBoolean()) {
                pipeline.stop();
            }
            try (AdminServer admin = AdminServer.start(pc.admin(), pc.name(), pipeline, assembly.deadLetterLog())) {
                return pipeline.run(mode);
            } finally {
                running.set(null);
            }
        }
    }

    /**
     * Without {@code --role}, for a Log of several partitions: the capture and one sink worker in this
     * process, until a signal stops both (or either fails, which stops the other). The worker is
     * made first, so that a sink that cannot deliver one partition is refused before anything runs.
     * It joins the Log's consumer group like any other, so more workers on other machines
     * ({@code --role sinks}) share the partitions with it.
     */
    private static void runCaptureAndWorker(PipelineConfig pc, AtomicReference<Pipeline> running,
                                            AtomicReference<dev.ferry.pipeline.SinkWorkers> workers,
                                            AtomicBoolean signalled,
                                            java.util.concurrent.atomic.AtomicLong signalledAt) throws Exception {
        AtomicReference<Throwable> workerFailure = new AtomicReference<>();
        try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
            dev.ferry.pipeline.SinkWorkers worker = assembly.sinkWorkers(MAX_BATCH_EVENTS);
            workers.set(worker);
            if (signalled.get()) {
                worker.stop();
            }
            Thread thread = new Thread(() -> {
                try {
                    worker.run();
                } catch (Throwable t) {
                    workerFailure.set(t);
                    Pipeline capture = running.get();
                    if (capture != null) {
                        capture.stop();
                    }
                }
            }, "ferry-sink-worker");
            thread.start();
            try {
                runPipeline(pc, Mode.STREAM, java.util.Optional.empty(), Role.capture, running,
                        () -> signalled.get() || workerFailure.get() != null);
            } finally {
                // the drain's time counts from the signal: capture's stop and the drain share the shutdown's minute
                worker.stop(signalled.get() ? signalledAt.get() : System.currentTimeMillis());
                thread.join();
                workers.set(null);
            }
        }
        Throwable f = workerFailure.get();
        if (f instanceof FerryException fe) {
            throw fe;
        }
        if (f != null) {
            throw new IllegalStateException("the sink worker failed: " + f, f);
        }
    }

    /** {@code --role sinks}: one sink worker, until a signal stops it. */
    private static void runSinkWorker(PipelineConfig pc, AtomicReference<dev.ferry.pipeline.SinkWorkers> workers,
                                      AtomicBoolean signalled) throws FerryException {
        try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
            dev.ferry.pipeline.SinkWorkers worker = assembly.sinkWorkers(MAX_BATCH_EVENTS);
            workers.set(worker);
            if (signalled.get()) {
                worker.stop();
            }
            worker.run();
        } finally {
            workers.set(null);
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
