package dev.ferry.event;

import java.util.Objects;

/**
 * A table's schema-qualified name, exactly as the source spells it (case kept). Rendering it into
 * SQL is the job of the source or sink, which must quote it.
 */
public record TableId(String schema, String name) implements Comparable<TableId> {
    public TableId {
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(name, "name");
    }

    /**
     * Parses {@code schema.table}, or a bare {@code table} in {@code defaultSchema}. Names with dots
     * may be written in double quotes: {@code "my.schema"."t"}.
     */
    public static TableId parse(String text, String defaultSchema) {
        String s = text.trim();
        int split = -1;
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (c == '.' && !quoted) {
                split = i;
                break;
            }
        }
        if (split < 0) {
            return new TableId(defaultSchema, unquote(s));
        }
        return new TableId(unquote(s.substring(0, split)), unquote(s.substring(split + 1)));
    }

    private static String unquote(String part) {
        String p = part.trim();
        if (p.length() >= 2 && p.startsWith("\"") && p.endsWith("\"")) {
            return p.substring(1, p.length() - 1).replace("\"\"", "\"");
        }
        return p;
    }

    /** {@code schema.name}, for messages and folder names. */
    @Override
    public String toString() {
        return schema + "." + name;
    }

    @Override
    public int compareTo(TableId o) {
        int c = schema.compareTo(o.schema);
        return c != 0 ? c : name.compareTo(o.name);
    }
}
