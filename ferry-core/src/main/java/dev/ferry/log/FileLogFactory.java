package dev.ferry.log;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.source.PositionCodec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** {@code log: {type: file}}, the default: the {@link FileLog} in the folder {@code log} of the state folder. */
public final class FileLogFactory implements LogFactory {
    /** The type of a pipeline file without {@code log: type:}. */
    public static final String TYPE = "file";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public List<Setting<?>> settings() {
        return LogSettings.ALL;
    }

    @Override
    public Log open(String pipelineName, ComponentConfig config, Path state, PositionCodec positions)
            throws FerryException, IOException {
        return FileLog.open(state.resolve("log"), positions, LogSettings.read(config).options());
    }

    @Override
    public Log open(String pipelineName, ComponentConfig config, Path state, PositionCodec positions,
                    long shortestCommitMillis) throws FerryException, IOException {
        return FileLog.open(state.resolve("log"), positions,
                LogSettings.read(config, LogSettings.Interval.beside(shortestCommitMillis)).options());
    }
}
