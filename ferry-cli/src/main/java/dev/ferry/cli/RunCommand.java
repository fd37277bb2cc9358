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
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ferry run -c FILE [--once]}. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run a pipeline: as a stream until stopped (SIGTERM or Ctrl-C drains and commits), "
                + "or with --once as a batch that catches up to now and exits.")
final class RunCommand implements Callable<Integer> {
    static final int MAX_BATCH_EVENTS = 8192;

    @Option(names = {"-c", "--config"}, required = true, description = "the pipeline file")
    Path config;

    @Option(names = "--once", description = "deliver every change up to the moment the run started, then exit 0")
    boolean once;

    @Override
    public Integer call() throws Exception {
        PipelineConfig pc = ConfigLoader.load(config);
        try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
            Pipeline pipeline = assembly.pipeline(MAX_BATCH_EVENTS);
            CountDownLatch finished = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                pipeline.stop();
                try {
                    // let the pipeline drain and commit before the JVM goes
                    finished.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "ferry-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                pipeline.run(once ? Mode.ONCE : Mode.STREAM);
            } finally {
                finished.countDown();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: we are the drain it waits for
            }
            return 0;
        } catch (FerryException e) {
            throw e;
        }
    }
}
