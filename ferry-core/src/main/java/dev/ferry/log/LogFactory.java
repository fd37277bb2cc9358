package dev.ferry.log;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.source.PositionCodec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Opens the Log of one {@code log: type:}: {@code file} (the default, {@link FileLog} in the state
 * folder) or another kind a module brings, such as Kafka. Found with {@link java.util.ServiceLoader};
 * stateless.
 */
public interface LogFactory {
    /** The pipeline file's {@code log: type:} value this factory answers to. */
    String type();

    /** Every key of the {@code log:} section this type accepts, besides {@code type}. */
    List<Setting<?>> settings();

    /**
     * Opens the pipeline's Log, creating it when there is none. Called once per run, by the process
     * that captures, after it took the state folder's lock.
     *
     * @param config    the {@code log:} section; null when the pipeline file has none
     * @param state     the pipeline's state folder
     * @param positions the source's position codec, for the positions the Log keeps
     * @throws IOException    when the state folder cannot be used
     * @throws FerryException when the configuration is wrong or the Log's server cannot be reached
     */
    Log open(String pipelineName, ComponentConfig config, Path state, PositionCodec positions)
            throws FerryException, IOException;

    /**
     * {@link #open(String, ComponentConfig, Path, PositionCodec)} for a pipeline whose sinks' shortest
     * {@code commit_interval_ms} is {@code shortestCommitMillis}: a Log that fsyncs on an interval takes
     * its default from it ({@link LogSettings.Interval#beside}).
     */
    default Log open(String pipelineName, ComponentConfig config, Path state, PositionCodec positions,
                     long shortestCommitMillis) throws FerryException, IOException {
        return open(pipelineName, config, state, positions);
    }

    /**
     * How many partitions the configured Log has. A Log of one is delivered in the capturing process
     * (or by sink workers); one of several only by sink workers, each partition on its own.
     */
    default int partitions(ComponentConfig config) throws FerryException {
        return 1;
    }

    /**
     * The Log as the sink workers of {@code ferry run --role sinks} share it. Opens no writer and
     * fences nothing. The default refuses (CONFIG): a Log in one process's state folder cannot be shared.
     */
    default SharedLog openShared(String pipelineName, ComponentConfig config, PositionCodec positions)
            throws FerryException {
        throw FerryException.config("--role runs capture and sinks in separate processes, which needs a Log they share: "
                + "log: {type: kafka, bootstrap_servers: ...}. The " + type() + " Log lives in one process's state "
                + "folder; run ferry run without --role.");
    }
}
