package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivateMariaDbTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingMariaDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LargeRowsIT} for {@code type: mysql}: a snapshot of 100 rows of about 1.25 MB each (1 MB of
 * text, 256 kB of blob), and of 40 rows of 1 MB in a table without a key, through a Ferry with a 192 MB heap. Chunks of a fixed 4,096 rows held the
 * whole table at once (in the driver, and again as values) and ended the JVM with OutOfMemoryError.
 */
class MySqlLargeRowsIT extends PrivateMariaDbTest {
    private static final int ROWS = 100;
    private static final int KEYLESS_ROWS = 40;

    @TempDir
    Path dir;

    @Test
    void aSnapshotOfMegabyteRowsFitsASmallHeap() throws Exception {
        mariadb.createDatabase("wide");
        // a table without a key is read in one streamed query, its fetches sized the same way
        WideRows.mariaDb(mariadb, "wide", ROWS, KEYLESS_ROWS);
        TestingMariaDb.User user = mariadb.grantCapture();
        Files.writeString(dir.resolve("pipeline.yaml"), String.join("\n", "name: wide", "source:", "  type: mysql",
                "  port: " + mariadb.port(), "  database: wide", "  user: " + user.name(), "  password: ${env:PW}",
                "sink:", "  type: jsonl", "  path: out", ""));

        FerryProcess run = FerryProcess.startWithHeap(dir, Map.of("PW", user.password()), "192m", "run", "-c",
                "pipeline.yaml", "--once");
        // -XX:+ExitOnOutOfMemoryError: an OutOfMemoryError is exit code 3
        assertThat(run.waitFor()).as(run.stdout() + run.stderr()).isEqualTo(0);
        try (java.sql.Connection c = mariadb.connect("wide")) {
            ReplayVerifier.Result result = ReplayVerifier.verify(dir.resolve("out"), c, List.of("wide.t"));
            assertThat(result.problems()).isEmpty();
            assertThat(result.events()).isEqualTo(ROWS);
        }
        assertThat(WideRows.reads(dir.resolve("out/wide.k"))).as("snapshot reads of the table without a key")
                .isEqualTo(KEYLESS_ROWS);
    }
}
