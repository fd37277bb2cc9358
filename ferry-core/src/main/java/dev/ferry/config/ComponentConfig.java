package dev.ferry.config;

import dev.ferry.error.FerryException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * The configuration section of one component (the {@code source:}, one sink, the {@code log:}),
 * read through {@link Setting}s. Immutable. Every error names the file, the line and the dotted key.
 */
public final class ComponentConfig {
    private final ConfigValue section;
    private final Map<String, ConfigValue> entries;

    ComponentConfig(ConfigValue section) throws FerryException {
        if (!section.isMapping()) {
            throw section.error("must be a map of keys such as type:, got " + ConfigValue.describe(section.node()));
        }
        this.section = section;
        Map<String, ConfigValue> map = new LinkedHashMap<>();
        for (NodeTuple tuple : ((MappingNode) section.node()).getValue()) {
            String key = ((ScalarNode) tuple.getKeyNode()).getValue();
            ConfigValue value = new ConfigValue(section.source(), section.path() + "." + key, tuple.getKeyNode(), tuple.getValueNode());
            if (map.put(key, value) != null) {
                throw FerryException.config(section.source().where(value.line()) + value.path() + " is given twice.");
            }
        }
        this.entries = map;
    }

    /** Builds a section from key/value text pairs; for tests and for the embedded demo. */
    public static ComponentConfig ofYaml(String name, String yaml) throws FerryException {
        return ConfigLoader.section(name, yaml);
    }

    /** The dotted path of this section in the file, such as {@code source} or {@code sinks[1]}. */
    public String path() {
        return section.path();
    }

    /** The value of {@code type:}, lower case. */
    public String type() throws FerryException {
        ConfigValue type = entries.get("type");
        if (type == null) {
            throw FerryException.config(section.source().where(section.line()) + section.path()
                    + ".type is missing; say which kind of component this is (for example type: postgres).");
        }
        return type.scalar().trim().toLowerCase(java.util.Locale.ROOT);
    }

    /** The setting's value, its default, or empty; an error if it is required and absent or malformed. */
    public <T> Optional<T> find(Setting<T> setting) throws FerryException {
        ConfigValue value = entries.get(setting.key());
        if (value == null) {
            if (setting.isRequired()) {
                throw FerryException.config(section.source().where(section.line()) + section.path() + "."
                        + setting.key() + " is missing; " + setting.description()
                        + setting.example().map(e -> " (for example " + setting.key() + ": " + e + ")").orElse("") + ".");
            }
            return setting.defaultValue();
        }
        return Optional.ofNullable(setting.parse(value));
    }

    /**
     * The items of a list key whose items are either text or maps (a source's {@code tables:} with
     * per-table options): each map item as a section of its own, read through settings like any
     * other; each text item as a section holding only {@code nameKey: text}. Empty when the key is
     * absent.
     */
    public List<ComponentConfig> items(String key, String nameKey) throws FerryException {
        ConfigValue value = entries.get(key);
        if (value == null) {
            return List.of();
        }
        List<ComponentConfig> out = new ArrayList<>();
        for (ConfigValue item : value.items()) {
            if (item.isMapping()) {
                out.add(new ComponentConfig(item));
            } else if (item.node() instanceof ScalarNode) {
                out.add(ofScalar(item, nameKey));
            } else {
                throw item.error("must be a name or a map of options (" + nameKey + ": ...)");
            }
        }
        return out;
    }

    /** A section written as a single value: a section holding only {@code key: value}. */
    static ComponentConfig ofScalar(ConfigValue value, String key) throws FerryException {
        ScalarNode text = (ScalarNode) value.node();
        ScalarNode name = new ScalarNode(org.yaml.snakeyaml.nodes.Tag.STR, key, text.getStartMark(), text.getEndMark(),
                org.yaml.snakeyaml.DumperOptions.ScalarStyle.PLAIN);
        MappingNode map = new MappingNode(org.yaml.snakeyaml.nodes.Tag.MAP, List.of(new NodeTuple(name, text)),
                org.yaml.snakeyaml.DumperOptions.FlowStyle.FLOW);
        return new ComponentConfig(new ConfigValue(value.source(), value.path(), value.node(), map));
    }

    /** The value of a setting that is required or has a default. */
    public <T> T get(Setting<T> setting) throws FerryException {
        return find(setting).orElseThrow(() -> new IllegalStateException(
                setting.key() + " has neither a default nor required()"));
    }

    /** A path from the file, resolved against the pipeline file's folder when relative. */
    public java.nio.file.Path resolve(String path) {
        return section.source().baseDir().resolve(path).normalize();
    }

    /** Whether the key is written in the file. */
    public boolean has(String key) {
        return entries.containsKey(key);
    }

    /** The line of a key, or of the section when the key is absent. */
    public int line(String key) {
        ConfigValue value = entries.get(key);
        return value == null ? section.line() : value.line();
    }

    /** A message prefix naming the file and the key's line: {@code pipeline.yaml line 7: source.port}. */
    public String where(String key) {
        return section.source().where(line(key)) + section.path() + "." + key;
    }

    /**
     * Rejects every key that none of the given settings (nor {@code type}) declares, naming the
     * closest declared key when there is one.
     */
    public void rejectUnknownKeys(List<Setting<?>> declared) throws FerryException {
        List<String> known = new ArrayList<>();
        known.add("type");
        declared.forEach(s -> known.add(s.key()));
        for (Map.Entry<String, ConfigValue> e : entries.entrySet()) {
            if (!known.contains(e.getKey())) {
                throw unknownKey(e.getValue(), e.getKey(), known);
            }
        }
    }

    static FerryException unknownKey(ConfigValue value, String key, List<String> known) {
        String closest = null;
        int best = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(key, k);
            if (d < best) {
                best = d;
                closest = k;
            }
        }
        String hint = closest != null && best <= Math.max(2, key.length() / 3)
                ? " Did you mean " + closest + "?" : "";
        return FerryException.config(value.source().where(value.line()) + "unknown key " + value.path()
                + "." + hint + " Known keys here: " + String.join(", ", known) + ".");
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
