package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivateMariaDbTest;
import dev.ferry.testkit.ReplayVerifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link JdbcLargeRowsIT} through MariaDB Connector/J (which streams a result in fetches of the fetch
 * size): 60 rows of about 1.25 MB (1 MB of text, 256 kB of blob) read in key ranges on two connections
 * ({@code readers: 2}, each range sized by the rows' width), and 40 rows of 1 MB of a table without a
 * key, through a Ferry with a 224 MB heap (192 MB ran out once in CI: a range of 1.25 MB rows being written
 * while the next is read leaves little room). Ranges of a fixed 10,000 rows held the whole table at once
 * and ended the JVM with OutOfMemoryError.
 */
class JdbcMariaDbLargeRowsIT extends PrivateMariaDbTest {
    private static final int ROWS = 60;
    private static final int KEYLESS_ROWS = 40;

    @TempDir
    Path dir;

    @Test
    void megabyteRowsFitASmallHeap() throws Exception {
        mariadb.createDatabase("wide");
        WideRows.mariaDb(mariadb, "wide", ROWS, KEYLESS_ROWS);
        Files.writeString(dir.resolve("pipeline.yaml"), String.join("\n", "name: wide", "source:", "  type: jdbc",
                "  url: " + mariadb.jdbcUrl("wide"), "  user: " + mariadb.user(), "  password: ${env:PW}",
                "  tables: [wide.t, wide.k]", "  readers: 2", "sink:", "  type: jsonl", "  path: out", ""));

        FerryProcess run = FerryProcess.startWithHeap(dir, Map.of("PW", mariadb.password()), "224m", "run", "-c",
                "pipeline.yaml", "--once");
        // -XX:+ExitOnOutOfMemoryError: an OutOfMemoryError is exit code 3
        assertThat(run.waitFor()).as(run.stdout() + run.stderr()).isEqualTo(0);
        try (java.sql.Connection c = mariadb.connect("wide")) {
            ReplayVerifier.Result result = ReplayVerifier.verify(dir.resolve("out"), c, List.of("wide.t"));
            assertThat(result.problems()).isEmpty();
        }
        assertThat(WideRows.reads(dir.resolve("out/wide.t"))).isEqualTo(ROWS);
        assertThat(WideRows.reads(dir.resolve("out/wide.k"))).as("reads of the table without a key")
                .isEqualTo(KEYLESS_ROWS);
    }
}
