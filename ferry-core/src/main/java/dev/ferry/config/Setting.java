package dev.ferry.config;

import dev.ferry.error.FerryException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One key of a pipeline file section, declared once: its type, default, description and example.
 * Components read their configuration only through settings, so validation, error messages and
 * the reference documentation all come from these declarations.
 *
 * @param <T> the Java type of the value
 */
public final class Setting<T> {
    /** Turns a raw scalar or list into the setting's value, or explains why it cannot. */
    @FunctionalInterface
    interface Parser<T> {
        T parse(ConfigValue value) throws FerryException;
    }

    private final String key;
    private final String type;
    private final String description;
    private final String example;
    private final T defaultValue;
    private final boolean required;
    private final boolean secret;
    private final Parser<T> parser;

    private Setting(String key, String type, String description, String example, T defaultValue,
                    boolean required, boolean secret, Parser<T> parser) {
        this.key = Objects.requireNonNull(key);
        this.type = type;
        this.description = description;
        this.example = example;
        this.defaultValue = defaultValue;
        this.required = required;
        this.secret = secret;
        this.parser = parser;
    }

    /** A text value. */
    public static Setting<String> string(String key, String description, String example) {
        return new Setting<>(key, "string", description, example, null, false, false, ConfigValue::scalar);
    }

    /** A whole number within {@code [min, max]}. */
    public static Setting<Integer> integer(String key, String description, int min, int max) {
        return new Setting<>(key, "integer", description, null, null, false, false, v -> {
            String text = v.scalar();
            try {
                int n = Integer.parseInt(text.trim());
                if (n >= min && n <= max) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // fall through to the message below
            }
            throw v.error("must be a whole number from " + min + " to " + max + ", got \"" + text + "\"");
        });
    }

    /** true or false. */
    public static Setting<Boolean> bool(String key, String description) {
        return new Setting<>(key, "boolean", description, null, null, false, false, v -> {
            String text = v.scalar().trim().toLowerCase(Locale.ROOT);
            return switch (text) {
                case "true", "yes", "on" -> true;
                case "false", "no", "off" -> false;
                default -> throw v.error("must be true or false, got \"" + v.scalar() + "\"");
            };
        });
    }

    /** One of a fixed set of words, compared case-insensitively and returned in lower case. */
    public static Setting<String> oneOf(String key, String description, String... choices) {
        List<String> allowed = List.of(choices);
        return new Setting<>(key, String.join(" | ", choices), description, choices[0], null, false, false, v -> {
            String text = v.scalar().trim().toLowerCase(Locale.ROOT);
            if (!allowed.contains(text)) {
                throw v.error("must be one of " + String.join(", ", allowed) + ", got \"" + v.scalar() + "\"");
            }
            return text;
        });
    }

    /** A list of text values; a single scalar counts as a list of one. */
    public static Setting<List<String>> stringList(String key, String description, String example) {
        return new Setting<>(key, "list of strings", description, example, null, false, false, v -> {
            List<String> out = new ArrayList<>();
            for (ConfigValue item : v.items()) {
                out.add(item.scalar());
            }
            return List.copyOf(out);
        });
    }

    /**
     * A map of text keys to text values, passed through as they are (a client's own properties); each
     * value may use {@code ${env:NAME}}. The keys are not checked: the component they go to does that.
     */
    public static Setting<java.util.Map<String, String>> stringMap(String key, String description, String example) {
        return new Setting<>(key, "map of strings", description, example, null, false, false, v -> {
            java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
            for (java.util.Map.Entry<String, ConfigValue> e : v.entries().entrySet()) {
                out.put(e.getKey(), e.getValue().scalar());
            }
            return java.util.Collections.unmodifiableMap(out);
        });
    }

    /**
     * A nested section (a map, or with {@code list} a list of maps) that the loader reads itself;
     * declared so that it is validated and documented like every other key.
     */
    public static Setting<String> section(String key, boolean list, String description, String example) {
        return new Setting<>(key, list ? "list of maps" : "map", description, example, null, false, false,
                v -> {
                    throw v.error("must be " + (list ? "a list of maps" : "a map"));
                });
    }

    /** The same setting with a default used when the key is absent. */
    public Setting<T> withDefault(T value) {
        return new Setting<>(key, type, description, example, value, false, secret, parser);
    }

    /** The same setting, which must be present. */
    public Setting<T> required() {
        return new Setting<>(key, type, description, example, null, true, secret, parser);
    }

    /** The same setting, whose value is never printed. */
    public Setting<T> secret() {
        return new Setting<>(key, type, description, example, defaultValue, required, true, parser);
    }

    public String key() {
        return key;
    }

    public String type() {
        return type;
    }

    public String description() {
        return description;
    }

    public Optional<String> example() {
        return Optional.ofNullable(example);
    }

    public Optional<T> defaultValue() {
        return Optional.ofNullable(defaultValue);
    }

    public boolean isRequired() {
        return required;
    }

    public boolean isSecret() {
        return secret;
    }

    T parse(ConfigValue value) throws FerryException {
        return parser.parse(value);
    }
}
