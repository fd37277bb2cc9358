package dev.ferry.source;

import dev.ferry.event.TableId;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Which tables a pipeline captures: the {@code tables:} list of a source. An entry is a table name
 * ({@code schema.table}, or a bare table in the default schema) or a pattern where {@code *} outside
 * double quotes matches any run of characters ({@code public.*}, {@code sales.order_*}). An empty list
 * captures every table. Names are case-sensitive, as the catalog spells them.
 */
public final class TableFilter {
    private final List<TableId> names;
    private final List<Pattern[]> patterns;
    private final List<String> patternTexts;

    private TableFilter(List<TableId> names, List<Pattern[]> patterns, List<String> patternTexts) {
        this.names = List.copyOf(names);
        this.patterns = List.copyOf(patterns);
        this.patternTexts = List.copyOf(patternTexts);
    }

    /** Parses the entries of a {@code tables:} list. */
    public static TableFilter parse(List<String> entries, String defaultSchema) {
        List<TableId> names = new ArrayList<>();
        List<Pattern[]> patterns = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        for (String entry : entries) {
            String marked = markUnquotedStars(entry);
            if (!marked.equals(entry)) {
                TableId parts = TableId.parse(marked, defaultSchema);
                patterns.add(new Pattern[] {glob(parts.schema()), glob(parts.name())});
                texts.add(entry.trim());
            } else {
                names.add(TableId.parse(entry, defaultSchema));
            }
        }
        return new TableFilter(names, patterns, texts);
    }

    /** Every table. */
    public static TableFilter everything() {
        return new TableFilter(List.of(), List.of(), List.of());
    }

    /** Whether the list is empty, so every table is captured. */
    public boolean everyTable() {
        return names.isEmpty() && patterns.isEmpty();
    }

    /** The tables named one by one; each must exist when the pipeline first starts. */
    public List<TableId> names() {
        return names;
    }

    /** Whether there are patterns, which may match no table yet. */
    public boolean hasPatterns() {
        return !patterns.isEmpty();
    }

    /** Whether the table is captured: named, matched by a pattern, or the list is empty. */
    public boolean matches(TableId table) {
        if (everyTable() || names.contains(table)) {
            return true;
        }
        for (Pattern[] p : patterns) {
            if (p[0].matcher(table.schema()).matches() && p[1].matcher(table.name()).matches()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        if (everyTable()) {
            return "every table";
        }
        List<String> all = new ArrayList<>();
        names.forEach(n -> all.add(n.toString()));
        all.addAll(patternTexts);
        return all.toString();
    }

    /** The entry with each {@code *} outside double quotes replaced by U+E000 (private use: parse trims NUL). */
    private static String markUnquotedStars(String entry) {
        StringBuilder out = new StringBuilder(entry.length());
        boolean quoted = false;
        for (int i = 0; i < entry.length(); i++) {
            char c = entry.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            }
            out.append(c == '*' && !quoted ? '\uE000' : c);
        }
        return out.toString();
    }

    /** A part whose U+E000 characters stand for {@code *}; everything else is literal. */
    private static Pattern glob(String part) {
        List<String> pieces = new ArrayList<>();
        for (String literal : part.split("\uE000", -1)) {
            pieces.add(literal.isEmpty() ? "" : Pattern.quote(literal));
        }
        return Pattern.compile(String.join(".*", pieces), Pattern.DOTALL);
    }
}
