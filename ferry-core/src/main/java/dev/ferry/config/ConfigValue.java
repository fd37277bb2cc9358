package dev.ferry.config;

import dev.ferry.error.FerryException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * One value of the pipeline file together with where it stands (file, line, dotted key), so every
 * error can name the key and the line. Scalars have {@code ${env:NAME}} substituted when read.
 */
final class ConfigValue {
    private static final Pattern ENV = Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");

    private final ConfigSource source;
    private final String path;
    private final Node node;
    private final int line;

    ConfigValue(ConfigSource source, String path, Node node) {
        this(source, path, node, node);
    }

    /**
     * A value written under a key. Its line is the key's: a block map or list starts on the line
     * after its key, and "line 3" for a typo in {@code sorce:} on line 2 would send the user astray.
     */
    ConfigValue(ConfigSource source, String path, Node key, Node node) {
        this.source = source;
        this.path = path;
        this.node = node;
        this.line = key.getStartMark().getLine() + 1;
    }

    String path() {
        return path;
    }

    int line() {
        return line;
    }

    Node node() {
        return node;
    }

    ConfigSource source() {
        return source;
    }

    /** The text of a scalar, with environment references replaced. */
    String scalar() throws FerryException {
        if (!(node instanceof ScalarNode scalar)) {
            throw error("must be a single value, got " + describe(node));
        }
        return substitute(scalar.getValue());
    }

    /** The items of a sequence; a scalar counts as a one-item list. */
    List<ConfigValue> items() throws FerryException {
        if (node instanceof ScalarNode) {
            return List.of(this);
        }
        if (!(node instanceof SequenceNode seq)) {
            throw error("must be a list, got " + describe(node));
        }
        List<ConfigValue> out = new ArrayList<>();
        int i = 0;
        for (Node item : seq.getValue()) {
            out.add(new ConfigValue(source, path + "[" + i++ + "]", item));
        }
        return out;
    }

    /** The entries of a map, keys as written, each value read with {@link #scalar()} substitution. */
    java.util.Map<String, ConfigValue> entries() throws FerryException {
        if (!(node instanceof MappingNode map)) {
            throw error("must be a map of key: value pairs, got " + describe(node));
        }
        java.util.Map<String, ConfigValue> out = new java.util.LinkedHashMap<>();
        for (org.yaml.snakeyaml.nodes.NodeTuple t : map.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode key)) {
                throw error("must have plain keys");
            }
            ConfigValue value = new ConfigValue(source, path + "." + key.getValue(), key, t.getValueNode());
            if (out.put(key.getValue(), value) != null) {
                throw FerryException.config(source.where(value.line()) + value.path() + " is given twice.");
            }
        }
        return out;
    }

    boolean isMapping() {
        return node instanceof MappingNode;
    }

    boolean isSequence() {
        return node instanceof SequenceNode;
    }

    FerryException error(String problem) {
        return FerryException.config(source.where(line()) + path + " " + problem + ".");
    }

    private String substitute(String text) throws FerryException {
        Matcher m = ENV.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(1);
            String value = source.environment().apply(name);
            if (value == null) {
                value = m.group(2);
            }
            if (value == null) {
                throw FerryException.config(source.where(line()) + path + " refers to ${env:" + name
                        + "}, but the environment variable " + name + " is not set. Set it (export " + name
                        + "=...) before running ferry, or write ${env:" + name + ":-default} to give a default.");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        m.appendTail(out);
        return out.toString();
    }

    static String describe(Node node) {
        if (node instanceof MappingNode) {
            return "a map";
        }
        if (node instanceof SequenceNode) {
            return "a list";
        }
        return "\"" + ((ScalarNode) node).getValue() + "\"";
    }
}
