package dev.ferry.config;

import dev.ferry.error.FerryException;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Reads a pipeline file into a {@link PipelineConfig}: YAML with line numbers, {@code ${env:NAME}}
 * substitution, and an error naming the key and the line for every unknown key, missing key or
 * malformed value. Component sections are checked by their factories.
 */
public final class ConfigLoader {
    private static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,39}");
    /** The top-level keys of a pipeline file, declared for validation and the reference docs. */
    public static final List<Setting<?>> FILE_SETTINGS = List.of(
            Setting.string("name", "names the pipeline: its replication slot, publication and state folder; "
                    + "letters, digits and _, starting with a letter, at most 40", "shop").required(),
            Setting.section("source", false, "where to read from: type: and that type's keys (below)",
                    "{type: postgres, ...}").required(),
            Setting.section("sink", false, "where to write: type: and that type's keys (below)", "{type: jsonl, path: out/}"),
            Setting.section("sinks", true, "several sinks, each as in sink:; give sink: or sinks:",
                    "[{type: jsonl, path: out/}]"),
            Setting.string("state", "folder for the Log and Ferry's own state; relative to the pipeline file",
                    ".ferry/shop").withDefault(".ferry/<name>"),
            Setting.section("log", false, "where and how the Log is kept: type: file (the default, in the state "
                    + "folder: fsync policy, segment size, size cap, retention) or type: kafka (a topic); keys below",
                    "{fsync: batch, max_mb: 10240}"),
            Setting.section("admin", false, "an HTTP endpoint of ferry run for health checks, status and Prometheus "
                    + "metrics (keys below); off unless given", "{port: 9464}"),
            Setting.section("schedule", false, "makes ferry run (without --once) a scheduler of batch runs: a cron "
                    + "expression, or a map with cron: and the keys below", "\"0 2 * * *\""));
    private static final List<String> TOP_LEVEL = FILE_SETTINGS.stream().map(Setting::key).toList();

    private ConfigLoader() {
    }

    /** Loads a file, with the process environment for {@code ${env:...}}. */
    public static PipelineConfig load(Path file) throws FerryException {
        return load(file, System::getenv);
    }

    /** Loads a file with the given environment lookup. */
    public static PipelineConfig load(Path file, UnaryOperator<String> environment) throws FerryException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw FerryException.config("Pipeline file " + file + " does not exist. Pass the path of your pipeline file with -c.");
        } catch (IOException e) {
            throw FerryException.config("Cannot read pipeline file " + file + ": " + e.getMessage() + ".");
        }
        Path base = file.toAbsolutePath().getParent();
        return parse(text, file.getFileName().toString(), base, environment);
    }

    /**
     * Parses pipeline text.
     *
     * @param fileName    the name used in messages
     * @param baseDir     relative paths in the file (state, sink paths) are resolved against it
     */
    public static PipelineConfig parse(String text, String fileName, Path baseDir, UnaryOperator<String> environment)
            throws FerryException {
        ConfigSource source = new ConfigSource(fileName, baseDir, environment);
        Node root = compose(text, fileName);
        if (!(root instanceof MappingNode mapping)) {
            throw FerryException.config(fileName + ": the pipeline file must be a map with name:, source: and sink: keys.");
        }
        Map<String, ConfigValue> top = new LinkedHashMap<>();
        for (NodeTuple tuple : mapping.getValue()) {
            String key = ((ScalarNode) tuple.getKeyNode()).getValue();
            ConfigValue value = new ConfigValue(source, key, tuple.getKeyNode(), tuple.getValueNode());
            if (!TOP_LEVEL.contains(key)) {
                throw ComponentConfig.unknownKey(value, key, TOP_LEVEL);
            }
            if (top.put(key, value) != null) {
                throw FerryException.config(source.where(value.line()) + key + " is given twice.");
            }
        }
        ConfigValue nameValue = top.get("name");
        if (nameValue == null) {
            throw FerryException.config(fileName + ": name is missing; give the pipeline a name (for example name: shop). "
                    + "It names the replication slot, the publication and the state folder.");
        }
        String name = nameValue.scalar().trim();
        if (!NAME.matcher(name).matches()) {
            throw nameValue.error("must start with a letter and use only letters, digits and _ (at most 40), got \"" + name + "\"");
        }
        ConfigValue sourceValue = top.get("source");
        if (sourceValue == null) {
            throw FerryException.config(fileName + ": source is missing; say where to read from (for example source: {type: postgres, ...}).");
        }
        ComponentConfig sourceConfig = new ComponentConfig(sourceValue);
        List<ComponentConfig> sinks = new ArrayList<>();
        ConfigValue sink = top.get("sink");
        ConfigValue sinkList = top.get("sinks");
        if (sink != null && sinkList != null) {
            throw FerryException.config(source.where(sinkList.line()) + "give either sink: or sinks:, not both.");
        }
        if (sink != null) {
            sinks.add(new ComponentConfig(sink));
        } else if (sinkList != null) {
            if (!sinkList.isSequence()) {
                throw sinkList.error("must be a list of sinks, each with its own type:");
            }
            for (ConfigValue item : sinkList.items()) {
                sinks.add(new ComponentConfig(item));
            }
            if (sinks.isEmpty()) {
                throw sinkList.error("must name at least one sink");
            }
        } else {
            throw FerryException.config(fileName + ": sink is missing; say where to write (for example sink: {type: jsonl, path: out/}).");
        }
        Path state = baseDir.resolve(".ferry").resolve(name);
        ConfigValue stateValue = top.get("state");
        if (stateValue != null) {
            state = baseDir.resolve(stateValue.scalar().trim());
        }
        ConfigValue logValue = top.get("log");
        ComponentConfig logConfig = logValue == null ? null : new ComponentConfig(logValue);
        ConfigValue adminValue = top.get("admin");
        ComponentConfig adminConfig = adminValue == null ? null : new ComponentConfig(adminValue);
        ConfigValue scheduleValue = top.get("schedule");
        ComponentConfig scheduleConfig = scheduleValue == null ? null : scheduleValue.isMapping()
                ? new ComponentConfig(scheduleValue) : ComponentConfig.ofScalar(scheduleValue, "cron");
        return new PipelineConfig(name, sourceConfig, sinks, state.normalize(), fileName, logConfig, adminConfig,
                scheduleConfig);
    }

    static ComponentConfig section(String name, String yaml) throws FerryException {
        Node node = compose(yaml, name);
        return new ComponentConfig(new ConfigValue(new ConfigSource(name, java.nio.file.Path.of("").toAbsolutePath(), System::getenv), name, node));
    }

    private static Node compose(String text, String fileName) throws FerryException {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(true); // duplicates are reported by us, with their line
        Yaml yaml = new Yaml(new SafeConstructor(options));
        try {
            Node node = yaml.compose(new StringReader(text));
            if (node == null) {
                throw FerryException.config(fileName + " is empty; it needs at least name:, source: and sink:.");
            }
            return node;
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() != null ? e.getProblemMark().getLine() + 1 : 0;
            throw FerryException.config(fileName + " line " + line + ": this is not valid YAML: " + e.getProblem()
                    + (e.getContext() != null ? " (" + e.getContext() + ")" : "")
                    + ". Check the indentation and quoting on that line and the one before it.");
        } catch (YAMLException e) {
            throw FerryException.config(fileName + ": this is not valid YAML: " + e.getMessage() + ".");
        }
    }
}
