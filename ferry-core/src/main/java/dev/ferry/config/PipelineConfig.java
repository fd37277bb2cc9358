package dev.ferry.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A whole pipeline file, validated for its common keys. Component sections are validated by their
 * factories when the pipeline is built. Immutable.
 *
 * @param name   names the slot, the publication and the state folder
 * @param source the {@code source:} section
 * @param sinks  the {@code sink:} section, or each of {@code sinks:}
 * @param state  the folder for the Log and Ferry's own state
 * @param file   the pipeline file, for messages
 * @param log    the {@code log:} section, or null when the file has none
 * @param admin  the {@code admin:} section, or null when the file has none
 * @param schedule the {@code schedule:} section (a bare cron expression reads as {@code cron:}), or null
 */
public record PipelineConfig(String name, ComponentConfig source, List<ComponentConfig> sinks, Path state, String file,
                             ComponentConfig log, ComponentConfig admin, ComponentConfig schedule) {
    public PipelineConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(source, "source");
        sinks = List.copyOf(sinks);
        Objects.requireNonNull(state, "state");
    }
}
