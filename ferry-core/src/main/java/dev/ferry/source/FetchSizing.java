package dev.ferry.source;

/**
 * How many rows each fetch of a snapshot's cursor (or each chunk query) asks for, so that one fetch
 * holds about {@link #TARGET_BYTES} in the driver whatever the rows' width. Sources that read tables
 * through JDBC use it (PostgreSQL's cursors and chunks, MySQL's chunks and streamed reads). The driver keeps a whole fetch in the
 * heap before the first of its rows is read: with 1 MB rows, a fixed fetch of 2,000 (or 1,024) rows
 * is 1-2 GB and ends the JVM with OutOfMemoryError, while narrow rows want large fetches for speed.
 *
 * <p>The first fetch asks for {@link #FIRST_ROWS}: few enough to be safe before any width is known.
 * Then each row's size (its encoded size, which the reader computes anyway) updates the width the
 * next fetch is sized by: a wider row counts at once, narrower ones lower it gradually (by an
 * eighth of the difference per row), so a run of wide rows after narrow ones shrinks the next fetch
 * at once, and one wide row among narrow ones does not keep fetches small for long. A fetch already
 * under way is not resized: the first wide rows after many narrow ones may arrive in a fetch sized for
 * narrow ones, which {@code maxRows} bounds. Not thread-safe; one per cursor.
 */
public final class FetchSizing {
    /** Rows of the first fetch, before any width is known. */
    public static final int FIRST_ROWS = 16;
    /** What one fetch should hold. */
    public static final long TARGET_BYTES = 4L * 1024 * 1024;

    private final int maxRows;
    /** The width fetches are sized by; 0 before the first row. */
    private double width;

    /** @param maxRows the most rows a fetch asks for, however narrow the rows (at least {@link #FIRST_ROWS}) */
    public FetchSizing(int maxRows) {
        if (maxRows < FIRST_ROWS) {
            throw new IllegalArgumentException("maxRows " + maxRows + " < " + FIRST_ROWS);
        }
        this.maxRows = maxRows;
    }

    /** Rows for the first fetch. */
    public int first() {
        return FIRST_ROWS;
    }

    /** Records one row read, of {@code bytes}. */
    public void row(long bytes) {
        double b = Math.max(1, bytes);
        width = b >= width ? b : width + (b - width) / 8;
    }

    /** Rows for the next fetch: about {@link #TARGET_BYTES} of rows of the width seen, from 1 to {@code maxRows}. */
    public int next() {
        if (width == 0) {
            return FIRST_ROWS;
        }
        return (int) Math.max(1, Math.min(maxRows, TARGET_BYTES / width));
    }
}
