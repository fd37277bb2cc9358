package dev.ferry.jdbc;

import dev.ferry.source.Position;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Where a JDBC source is: the number of the batch run and the index of an event in it, and, on the
 * positions that end a poll, what every table has reached ({@link TableMark}). A run is one pass
 * over the configured tables; runs are numbered from 1.
 *
 * <p>Order: by run, then index. Index {@link #DONE} stands for "the run is complete"; -1 for "the run
 * has begun, no event yet". Event positions carry no marks (they would make every Log record carry
 * every table's cursor); the position of each poll's batch carries all of them, and that is what a
 * restart resumes from.
 *
 * @param run    the batch run, from 1; 0 before the first
 * @param index  the event's index in its run, -1 before the first, or {@link #DONE}
 * @param window the window the run extracts ({@code 2026-11-30} or {@code 2026-11-30T00:00_2026-12-01T00:00}),
 *               or null for a run that follows the cursors
 * @param marks  table ({@code schema.name}) → what it has reached; empty on event positions
 */
public record JdbcPosition(long run, long index, String window, SortedMap<String, TableMark> marks)
        implements Position {
    /** The index of a complete run. */
    public static final long DONE = Long.MAX_VALUE;

    public JdbcPosition {
        Objects.requireNonNull(marks, "marks");
        // event positions (one per row) share the empty map rather than copy one each
        marks = marks.isEmpty() ? Collections.emptySortedMap() : Collections.unmodifiableSortedMap(new TreeMap<>(marks));
    }

    /**
     * What one table reached.
     *
     * @param run    the last run that finished the table (for a window run: 0, the cursor is not moved)
     * @param cursor the encoded high-water mark of its cursor column ({@link CursorValues#encode}); empty
     *               for full tables and for an incremental table that never had a row
     */
    public record TableMark(long run, String cursor) {
        public TableMark {
            Objects.requireNonNull(cursor, "cursor");
        }
    }

    static JdbcPosition initial() {
        return new JdbcPosition(0, DONE, null, new TreeMap<>());
    }

    boolean complete() {
        return index == DONE;
    }

    @Override
    public int compareTo(Position o) {
        JdbcPosition p = (JdbcPosition) o;
        int c = Long.compare(run, p.run);
        return c != 0 ? c : Long.compare(index, p.index);
    }

    /**
     * Never: to the pipeline a snapshot is a phase whose events sinks get only once it is complete, and
     * which starts over when cut off. A full table's copy is neither: it is delivered as it is read, and
     * a run cut off is followed by a new run.
     */
    @Override
    public boolean snapshot() {
        return false;
    }

    @Override
    public String display() {
        if (run == Long.MAX_VALUE) {
            return "the end of the run this start makes"; // JdbcSource.end()
        }
        String where = window == null ? "run " + run : "run " + run + " (window " + window + ")";
        return index == DONE ? where + " complete" : index < 0 ? where + " begun" : where + " #" + index;
    }

    @Override
    public String partition() {
        return window == null ? null : "window=" + window;
    }

    /**
     * A windowed run's events name the window and their index in it, and nothing that differs when
     * the same window runs again: that keeps a re-run's output byte-identical.
     */
    @Override
    public Map<String, Object> envelopeFields() {
        Map<String, Object> fields = new LinkedHashMap<>();
        if (window != null) {
            fields.put("window", window);
        } else {
            fields.put("run", run);
        }
        fields.put("index", index);
        return fields;
    }

    @Override
    public String toString() {
        return display();
    }
}
