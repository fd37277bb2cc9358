package dev.ferry.jdbc;

import java.util.ArrayList;
import java.util.List;

/**
 * A comparison of a row's columns with a tuple of values, {@code (c1, c2) > (?, ?)}, written out as
 * {@code c1 > ? OR (c1 = ? AND c2 > ?)}: the form every database reads (and uses an index for), where
 * row-value comparisons are missing or not indexed.
 */
final class KeyPredicate {
    /** The parameters, in order, and how each is bound. */
    private final List<Object> params = new ArrayList<>();
    private final List<CursorValues> kinds = new ArrayList<>();

    /**
     * The comparison {@code (columns) op (values)}, its parameters added to this predicate's.
     *
     * @param op one of {@code >}, {@code >=}, {@code <}
     */
    String compare(List<String> columns, String op, List<?> values, List<CursorValues> valueKinds) {
        String strict = op.startsWith(">") ? ">" : "<";
        List<String> terms = new ArrayList<>();
        for (int i = 0; i < columns.size(); i++) {
            StringBuilder t = new StringBuilder("(");
            for (int j = 0; j < i; j++) {
                t.append(columns.get(j)).append(" = ? AND ");
                add(values.get(j), valueKinds.get(j));
            }
            t.append(columns.get(i)).append(' ').append(i == columns.size() - 1 ? op : strict).append(" ?)");
            add(values.get(i), valueKinds.get(i));
            terms.add(t.toString());
        }
        return "(" + String.join(" OR ", terms) + ")";
    }

    /** A parameter of a condition written by the caller. */
    void add(Object value, CursorValues kind) {
        params.add(value);
        kinds.add(kind);
    }

    /** Binds every parameter to the statement, from index 1. */
    void bind(java.sql.PreparedStatement ps) throws java.sql.SQLException {
        for (int i = 0; i < params.size(); i++) {
            kinds.get(i).bind(ps, i + 1, params.get(i));
        }
    }
}
