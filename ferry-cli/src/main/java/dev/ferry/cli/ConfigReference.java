package dev.ferry.cli;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.Setting;
import dev.ferry.log.FileLogFactory;
import dev.ferry.log.LogFactory;
import dev.ferry.sink.SinkFactory;
import dev.ferry.source.SourceFactory;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.StreamSupport;

/**
 * Renders the pipeline-file reference (docs/configuration.md) from the settings that the loader and
 * every log, source and sink factory declare, so the documentation cannot drift from the code.
 */
final class ConfigReference {
    private ConfigReference() {
    }

    static String render() {
        StringBuilder md = new StringBuilder();
        md.append("# Pipeline file reference\n\n")
                .append("Generated from the settings declared in the code (`ConfigReferenceTest` fails when this file is\n")
                .append("stale; regenerate with `./mvnw -pl ferry-cli -am test -Dtest=ConfigReferenceTest -Dferry.docs.update=true\n")
                .append("-Dsurefire.failIfNoSpecifiedTests=false`). Any value may use `${env:NAME}` or `${env:NAME:-default}`.\n")
                .append("Unknown keys are errors.\n\n");
        md.append("## Top level\n\n");
        table(md, ConfigLoader.FILE_SETTINGS);
        List<LogFactory> logs = StreamSupport.stream(ServiceLoader.load(LogFactory.class).spliterator(), false)
                .sorted(Comparator.comparing(LogFactory::type)).toList();
        for (LogFactory f : logs) {
            md.append("\n## log: type: ").append(f.type())
                    .append(f.type().equals(FileLogFactory.TYPE) ? " (the default)" : "").append("\n\n");
            table(md, f.settings());
        }
        md.append("\n## admin:\n\n");
        table(md, AdminServer.ALL);
        md.append("\n## schedule:\n\n");
        table(md, Schedule.ALL);
        List<SourceFactory> sources = StreamSupport.stream(ServiceLoader.load(SourceFactory.class).spliterator(), false)
                .sorted(Comparator.comparing(SourceFactory::type)).toList();
        for (SourceFactory f : sources) {
            md.append("\n## source: type: ").append(f.type()).append("\n\n");
            table(md, f.settings());
        }
        List<SinkFactory> sinks = StreamSupport.stream(ServiceLoader.load(SinkFactory.class).spliterator(), false)
                .sorted(Comparator.comparing(SinkFactory::type)).toList();
        md.append("\n## Every sink\n\n");
        table(md, dev.ferry.sink.SinkSettings.ALL);
        for (SinkFactory f : sinks) {
            md.append("\n## sink: type: ").append(f.type()).append("\n\n");
            table(md, f.settings());
        }
        return md.toString();
    }

    private static void table(StringBuilder md, List<Setting<?>> settings) {
        md.append("| key | type | default | description | example |\n|---|---|---|---|---|\n");
        for (Setting<?> s : settings) {
            md.append("| `").append(s.key()).append("` | ").append(s.type().replace("|", "\\|")).append(" | ")
                    .append(s.isRequired() ? "required" : s.defaultValue().map(v -> "`" + v + "`").orElse("—"))
                    .append(" | ").append(s.description().replace("|", "\\|")).append(s.isSecret() ? " (never logged)" : "")
                    .append(" | ").append(s.example().map(e -> "`" + e.replace("|", "\\|") + "`").orElse(""))
                    .append(" |\n");
        }
    }
}
