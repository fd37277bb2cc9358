package dev.ferry.source;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import java.util.List;

/**
 * Creates sources of one {@code type:}. Found with {@link java.util.ServiceLoader}; one instance
 * serves the whole process, so it keeps no state.
 */
public interface SourceFactory {
    /** The pipeline file's {@code source.type} value this factory answers to. */
    String type();

    /** Every key this source type accepts, for validation and the reference documentation. */
    List<Setting<?>> settings();

    /** The codec of this source type's positions. */
    PositionCodec positionCodec();

    /**
     * Builds a source from its configuration section. Reads the section's settings, so configuration
     * mistakes surface here, before anything connects.
     *
     * @param pipelineName the pipeline's {@code name}
     */
    Source create(String pipelineName, ComponentConfig config) throws FerryException;
}
