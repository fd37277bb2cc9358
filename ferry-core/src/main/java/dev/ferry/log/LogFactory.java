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
}
