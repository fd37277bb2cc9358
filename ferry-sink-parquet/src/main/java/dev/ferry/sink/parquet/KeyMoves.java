package dev.ferry.sink.parquet;

import static dev.ferry.sink.duckdb.DuckDbTypes.quote;

import dev.ferry.sink.files.HistoryRows;
import java.util.List;
import java.util.StringJoiner;

/**
 * The SQL of the mirror's compaction for updates that changed a row's key (history rows whose
 * {@code _ferry_before_<key>} columns are set). Two things follow from such a row: the old key's row
 * is gone, unless a later change wrote that key again ({@link #movedAway}); and the row under the new
 * key continues the old one, so a column the update did not send (unchanged TOAST) keeps the old
 * key's value. For the latter, each history row gets a <em>lineage</em> ({@link #withLineage}): the
 * rows of one key between two key changes that touch it form a segment; a segment that a key change
 * started continues the old key's segment of that moment, followed back to the first (a recursive
 * CTE over the key changes alone, so a chain A to B to C keeps A's values). Carried values are then
 * taken per lineage instead of per key.
 */
final class KeyMoves {
    private final List<String> keyColumns;

    /** @param keyColumns the table's primary key */
    KeyMoves(List<String> keyColumns) {
        this.keyColumns = List.copyOf(keyColumns);
    }

    /** {@code row(alias."k1", …)}: the key of a row of {@code alias}. */
    String key(String alias) {
        return row(alias, "");
    }

    private String row(String alias, String prefix) {
        StringJoiner out = new StringJoiner(", ", "row(", ")");
        keyColumns.forEach(k -> out.add(alias + "." + quote(prefix + k)));
        return out.toString();
    }

    private String moved(String alias) {
        return alias + "." + quote(HistoryRows.BEFORE_KEY + keyColumns.get(0)) + " IS NOT NULL";
    }

    /**
     * The CTEs (each with a leading comma) that make {@code named}: the rows of {@code rows} with a
     * column {@code _ferry_lineage}. The WITH they join must be {@code WITH RECURSIVE}.
     */
    String withLineage(String rows, String named) {
        String oldKey = row("r", HistoryRows.BEFORE_KEY);
        return ", _ferry_bounds AS (SELECT " + key("r") + " AS k, r._ferry_offset AS o FROM " + rows + " r WHERE " + moved("r")
                + " UNION ALL SELECT " + oldKey + ", r._ferry_offset FROM " + rows + " r WHERE " + moved("r") + ")"
                // each key change: the segment it starts and the old key's segment it continues
                + ", _ferry_moves AS (SELECT " + key("r") + " AS k, r._ferry_offset AS o, " + oldKey + " AS pk, "
                + "coalesce((SELECT max(b.o) FROM _ferry_bounds b WHERE b.k = " + oldKey + " AND b.o < r._ferry_offset), -1) AS po "
                + "FROM " + rows + " r WHERE " + moved("r") + ")"
                + ", _ferry_chain AS (SELECT k, o, pk, po FROM _ferry_moves UNION ALL SELECT c.k, c.o, m.pk, m.po FROM _ferry_chain c "
                + "JOIN _ferry_moves m ON m.k = c.pk AND m.o = c.po)"
                + ", _ferry_roots AS (SELECT * FROM _ferry_chain c WHERE NOT EXISTS (SELECT 1 FROM _ferry_moves m "
                + "WHERE m.k = c.pk AND m.o = c.po))"
                + ", " + named + " AS (SELECT s.* EXCLUDE (_ferry_segment), CASE WHEN x.k IS NULL THEN {'k': " + key("s")
                + ", 'o': s._ferry_segment} ELSE {'k': x.pk, 'o': x.po} END AS _ferry_lineage FROM (SELECT r.*, coalesce((SELECT "
                + "max(b.o) FROM _ferry_bounds b WHERE b.k = " + key("r") + " AND b.o <= r._ferry_offset), -1) AS _ferry_segment "
                + "FROM " + rows + " r) s LEFT JOIN _ferry_roots x ON x.k = " + key("s") + " AND x.o = s._ferry_segment)";
    }

    /**
     * The condition that the row {@code alias} (with {@code _ferry_key} and {@code _ferry_offset})
     * lost its key to a later key change among {@code rows}.
     */
    String movedAway(String rows, String alias) {
        return "EXISTS (SELECT 1 FROM " + rows + " r WHERE " + moved("r") + " AND " + row("r", HistoryRows.BEFORE_KEY) + " = "
                + alias + "._ferry_key AND r._ferry_offset > " + alias + "._ferry_offset)";
    }
}
