package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory stays bounded whatever the rows' width: a snapshot of rows of about 1.5 MB each (1 MB of
 * text, 256 kB of bytea, 512 kB of hex on the wire) flows through a Ferry process whose heap is capped
 * at 224 MB (192 MB ran out once, under load: the sink's batch of 32 MiB, a frame of 8 MB being read
 * and the reader's buffer, a source batch of 16 MiB, all of megabyte objects that G1 places whole
 * in regions of their own; the 250 MB that a fetch of 250 megabyte rows holds still exceed it). The snapshot's copy streams rows one at a time ({@code COPY ... TO STDOUT}) and the sink's
 * batches are sized by bytes ({@code batch_bytes}). A cursor's fetch of a fixed 2,000 rows held the whole
 * table in the driver and ended the JVM with OutOfMemoryError; so did fetches sized by the width of the
 * rows seen when wider ones follow: {@code documents}' attachment column was added later, NULL in its
 * first 100 rows and 512 kB of bytea in the 150 after them, and {@code notes} has 5,000 narrow rows
 * before 200 of a megabyte (issue 7).
 */
class LargeRowsIT extends PrivatePostgresTest {
    private static final int ROWS = 60;
    private static final int NARROW_ROWS = 100;
    private static final int WIDE_ROWS = 150;
    /**
     * Narrow rows enough for fetches sized by rows to reach their most before the wide ones: a cursor
     * of {@code snapshot: initial} fetched rows 4,033 to 6,032 at once (2,000), a chunk rows 4,081 to
     * 5,104 (1,024), each holding every wide row.
     */
    private static final int MANY_NARROW_ROWS = 4080;
    private static final int LATE_WIDE_ROWS = 250;

    @TempDir
    Path dir;

    @Test
    void aSnapshotOfMegabyteRowsFitsASmallHeap() throws Exception {
        pg.createDatabase("wide");
        WideRows.postgres(pg, "wide", ROWS, 0);
        pg.execute("wide",
                "CREATE TABLE documents (id int PRIMARY KEY, title text, attachment bytea)",
                "INSERT INTO documents SELECT g, 'document ' || g, NULL FROM generate_series(1, " + NARROW_ROWS + ") g",
                "INSERT INTO documents SELECT g, 'document ' || g, decode((SELECT string_agg(md5(i::text || ':' || g), '') "
                        + "FROM generate_series(1, 32768) i), 'hex') FROM generate_series(" + (NARROW_ROWS + 1) + ", "
                        + (NARROW_ROWS + WIDE_ROWS) + ") g");
        TestingPostgres.CaptureRole role = pg.grantCapture("wide", "wide");
        assertSnapshotFitsTheHeap("wide", role, List.of("public.t", "public.documents"), ROWS + NARROW_ROWS + WIDE_ROWS);
    }

    /**
     * Issue 7: however a fetch is sized by rows, the rows that follow may be wider. After thousands of
     * narrow rows a cursor's fetches had grown to 2,000 rows, and the 1 MB rows after them came in one
     * fetch: 250 MB in the driver, more than the heap. The copy now streams rows one at a time.
     */
    @Test
    void megabyteRowsAfterThousandsOfNarrowOnesFitASmallHeap() throws Exception {
        TestingPostgres.CaptureRole role = narrowThenWide("late");
        assertSnapshotFitsTheHeap("late", role, List.of("public.notes"), MANY_NARROW_ROWS + LATE_WIDE_ROWS);
    }

    /**
     * The same rows through a chunked snapshot, in chunks of up to 16,384 rows. A chunk's fetches were
     * sized by rows (1,024 rows of a megabyte in one fetch); then the server counted each row's bytes
     * and left a wide row out of a fetch, to be read alone; now each chunk is a COPY that sends a row
     * per message, and a chunk is cut at 8 MiB (its COPY cancelled), so without the cut the first chunk
     * holds all 250 wide rows. In the same run, {@code codes}: {@code char(1000000)} values after
     * thousands of NULLs (the byte count once took a padded value for its text without the padding, 1
     * byte for {@code 'x'}, and 250 MB of spaces came in one fetch).
     */
    @Test
    void megabyteRowsAfterThousandsOfNarrowOnesFitASmallHeapInChunks() throws Exception {
        TestingPostgres.CaptureRole role = narrowThenWide("chunks",
                "CREATE TABLE codes (id int PRIMARY KEY, code char(1000000))",
                "INSERT INTO codes SELECT g, NULL FROM generate_series(1, " + MANY_NARROW_ROWS + ") g",
                "INSERT INTO codes SELECT g, 'x' FROM generate_series(" + (MANY_NARROW_ROWS + 1) + ", "
                        + (MANY_NARROW_ROWS + LATE_WIDE_ROWS) + ") g");
        assertSnapshotFitsTheHeap("chunks", role, List.of("public.notes", "public.codes"),
                2 * (MANY_NARROW_ROWS + LATE_WIDE_ROWS), "  snapshot: chunked", "  snapshot_chunk_rows: 16384");
    }

    /**
     * Database {@code db} with {@code notes}: {@link #MANY_NARROW_ROWS} narrow rows, then rows of 1 MB;
     * then {@code more} statements.
     */
    private static TestingPostgres.CaptureRole narrowThenWide(String db, String... more) {
        pg.createDatabase(db);
        // repeat() compresses on disk, so the table is quick to fill; on the wire each row is 1 MB
        pg.execute(db,
                "CREATE TABLE notes (id int PRIMARY KEY, body text)",
                "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, " + MANY_NARROW_ROWS + ") g",
                "INSERT INTO notes SELECT g, repeat(md5(g::text), 32768) FROM generate_series(" + (MANY_NARROW_ROWS + 1)
                        + ", " + (MANY_NARROW_ROWS + LATE_WIDE_ROWS) + ") g");
        pg.execute(db, more);
        return pg.grantCapture(db, db);
    }

    /**
     * Runs {@code ferry run --once} on {@code db} with a 224 MB heap (and {@code sourceLines} added to
     * the source), then checks every row came once.
     */
    private void assertSnapshotFitsTheHeap(String db, TestingPostgres.CaptureRole role, List<String> tables,
                                           int rows, String... sourceLines) throws Exception {
        List<String> lines = new java.util.ArrayList<>(List.of(sourceLines));
        lines.addAll(List.of("sink:", "  type: jsonl", "  path: out"));
        JsonlPipelineFile.write(dir, pg, db, role.user(), lines);
        Map<String, String> env = JsonlPipelineFile.env(role);
        FerryProcess run = FerryProcess.startWithHeap(dir, env, "224m", "run", "-c", "pipeline.yaml", "--once");
        // -XX:+ExitOnOutOfMemoryError: an OutOfMemoryError is exit code 3
        assertThat(run.waitFor()).as(run.stdout() + run.stderr()).isEqualTo(0);
        try (java.sql.Connection c = pg.connect(db)) {
            ReplayVerifier.Result result = ReplayVerifier.verify(dir.resolve("out"), c, tables);
            assertThat(result.problems()).isEmpty();
            assertThat(result.events()).isEqualTo(rows);
        }
    }
}
