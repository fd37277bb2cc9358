package dev.ferry.source;

/**
 * How many rows each fetch of a snapshot's cursor (or each chunk query) asks for, so that one fetch
 * holds about {@link #TARGET_BYTES} in the driver when the rows are about as wide as those before.
 * Sources that read tables through JDBC use it (MySQL's chunks and streamed reads, the jdbc source's
 * chunks and fetches). The driver keeps a whole fetch in the heap before the
 * first of its rows is read: with 1 MB rows, a fixed fetch of 2,000 (or 1,024) rows is 1-2 GB and ends
 * the JVM with OutOfMemoryError, while narrow rows want large fetches for speed.
 *
 * <p>The first fetch asks for {@link #FIRST_ROWS}: few enough to be safe before any width is known.
 * Then each row's size (its encoded size, which the reader computes anyway) updates the width the
 * next fetch is sized by: a wider row counts at once, narrower ones lower it gradually (by an
 * eighth of the difference per row), so a run of wide rows after narrow ones shrinks the next fetch
 * at once, and one wide row among narrow ones does not keep fetches small for long.
 *
 * <p>A fetch's rows are only known once it is read: the wide rows that follow narrow ones arrive in a
 * fetch sized for the narrow ones. So fetches grow slowly: the next fetch asks for at most
 * twice the rows of the one before (precisely: the rows last asked for plus the rows
 * read since), from {@link #FIRST_ROWS} up, and after a wide row from the few rows it was sized to. A
 * fetch thus holds at most twice the rows of the one before, whatever their width: after 200 narrow
 * rows a table's next fetch is at most 256 rows, not {@code maxRows}. This bounds rows, not bytes: a
 * long run of narrow rows still grows fetches to {@code maxRows}, and rows as wide as the widest
 * that may follow then all come in one fetch (issue 7: 1,024 rows of 1 MB). A reader that must bound
 * bytes whatever the rows does not fetch at all: PostgreSQL's snapshots, its chunks included, read
 * {@code COPY ... TO STDOUT}, one row at a time. MySQL's and the jdbc source's reads are bounded by
 * this class alone. Not thread-safe; one per cursor.
 */
public final class FetchSizing {
    /** Rows of the first fetch, before any width is known. */
    public static final int FIRST_ROWS = 16;
    /** What one fetch should hold. */
    public static final long TARGET_BYTES = 4L * 1024 * 1024;

    private final int maxRows;
    /** The width fetches are sized by; 0 before the first row. */
    private double width;
    /** The most rows the next fetch may ask for: the rows last asked for, plus one per row read since. */
    private long allowed = FIRST_ROWS;

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
        allowed = Math.min(maxRows, allowed + 1);
    }

    /**
     * Rows for the next fetch: about {@link #TARGET_BYTES} of rows of the width seen, from 1 to {@code
     * maxRows}, and at most twice the fetch before (the rows last asked for plus those
     * read since). Call it after each row: the driver takes the value set when it fetches.
     */
    public int next() {
        if (width == 0) {
            return FIRST_ROWS;
        }
        int rows = (int) Math.max(1, Math.min(allowed, TARGET_BYTES / width));
        allowed = rows;
        return rows;
    }
}
