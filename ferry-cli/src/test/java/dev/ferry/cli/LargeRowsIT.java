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
 * text, 256 kB of bytea, which the driver holds as 512 kB of hex) flows through a Ferry process whose
 * heap is capped at 192 MB. Snapshot fetches are sized by the rows' width (FetchSizing) and the sink's
 * batches by bytes ({@code batch_bytes}); a fetch of a fixed 2,000 rows held the whole table in the
 * driver and ended the JVM with OutOfMemoryError. So did a fetch sized by narrow rows when wide ones
 * follow them: {@code documents}' attachment column was added later, NULL in its first 100 rows and
 * 512 kB of bytea (1 MB of hex in the driver) in the 150 after them. A fetch now grows at most
 * twofold: the one that reaches the first wide rows is 64 rows (12 of them wide), not 2,000.
 */
class LargeRowsIT extends PrivatePostgresTest {
    private static final int ROWS = 60;
    private static final int NARROW_ROWS = 100;
    private static final int WIDE_ROWS = 150;

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
        JsonlPipelineFile.write(dir, pg, "wide", role);
        Map<String, String> env = JsonlPipelineFile.env(role);

        FerryProcess run = FerryProcess.startWithHeap(dir, env, "192m", "run", "-c", "pipeline.yaml", "--once");
        // -XX:+ExitOnOutOfMemoryError: an OutOfMemoryError is exit code 3
        assertThat(run.waitFor()).as(run.stdout() + run.stderr()).isEqualTo(0);
        try (java.sql.Connection c = pg.connect("wide")) {
            ReplayVerifier.Result result = ReplayVerifier.verify(dir.resolve("out"), c,
                    List.of("public.t", "public.documents"));
            assertThat(result.problems()).isEmpty();
            assertThat(result.events()).isEqualTo(ROWS + NARROW_ROWS + WIDE_ROWS);
        }
    }
}
