package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LargeRowsIT} for {@code type: jdbc} on PostgreSQL (pgjdbc, which reads a chunk through a
 * cursor in fetches since the connection is not in auto-commit): a full table of 60 rows of about
 * 1.5 MB (1 MB of text, 256 kB of bytea) and a table without a key of 40 rows of 1 MB, through a Ferry
 * whose heap is capped at 192 MB, with the default {@code chunk_rows} and {@code fetch_size} (10,000).
 * Chunks and fetches are sized by the rows' width (FetchSizing); with chunks of a fixed 10,000 rows
 * (and polls of 4,096 events) the whole table was held at once and the JVM ended with OutOfMemoryError.
 * {@link JdbcMariaDbLargeRowsIT} does the same through MariaDB Connector/J, with {@code readers: 2}.
 */
class JdbcLargeRowsIT extends PrivatePostgresTest {
    private static final int ROWS = 60;
    private static final int KEYLESS_ROWS = 40;

    @TempDir
    Path dir;

    @Test
    void megabyteRowsFitASmallHeap() throws Exception {
        pg.createDatabase("wide");
        WideRows.postgres(pg, "wide", ROWS, KEYLESS_ROWS);
        Files.writeString(dir.resolve("pipeline.yaml"), String.join("\n", "name: wide", "source:", "  type: jdbc",
                "  url: " + pg.jdbcUrl("wide"), "  user: " + pg.user(), "  password: ${env:PW}",
                "  tables: [public.t, public.k]", "sink:", "  type: jsonl", "  path: out", ""));

        FerryProcess run = FerryProcess.startWithHeap(dir, Map.of("PW", pg.password()), "192m", "run", "-c",
                "pipeline.yaml", "--once");
        // -XX:+ExitOnOutOfMemoryError: an OutOfMemoryError is exit code 3
        assertThat(run.waitFor()).as(run.stdout() + run.stderr()).isEqualTo(0);
        try (java.sql.Connection c = pg.connect("wide")) {
            ReplayVerifier.Result result = ReplayVerifier.verify(dir.resolve("out"), c, List.of("public.t"));
            assertThat(result.problems()).isEmpty();
        }
        assertThat(WideRows.reads(dir.resolve("out/public.t"))).isEqualTo(ROWS);
        assertThat(WideRows.reads(dir.resolve("out/public.k"))).as("reads of the table without a key").isEqualTo(KEYLESS_ROWS);
    }
}
