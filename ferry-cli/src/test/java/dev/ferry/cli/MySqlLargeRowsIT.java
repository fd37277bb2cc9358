package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivateMariaDbTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingMariaDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LargeRowsIT} for {@code type: mysql}: a snapshot of 100 rows of about 1.25 MB each (1 MB of
 * text, 256 kB of blob), of 120 rows of 1 MB in a table without a key, and of a table whose first
 * 1,008 rows are narrow and the 60 after them 1 MB each (an attachment column added later), through a
 * Ferry with a 192 MB heap. Chunks of a fixed 4,096 rows held the whole table at once (in the driver,
 * and again as values); unsized streamed fetches held the keyless table; and a chunk read whole whose
 * size the narrow rows had grown to 1,024 held every wide row after them (in the driver and again as
 * values): each ended the JVM with OutOfMemoryError. Chunks are now streamed and cut at the batch's
 * bytes; 1,008 is where such a chunk starts (chunks of 16, 32, ... 512 rows before it).
 */
class MySqlLargeRowsIT extends PrivateMariaDbTest {
    private static final int ROWS = 100;
    private static final int KEYLESS_ROWS = 120;
    private static final int NARROW_ROWS = 1008;
    private static final int WIDE_ROWS = 60;

    @TempDir
    Path dir;

    @Test
    void aSnapshotOfMegabyteRowsFitsASmallHeap() throws Exception {
        mariadb.createDatabase("wide");
        // a table without a key is read in one streamed query, its fetches sized the same way
        WideRows.mariaDb(mariadb, "wide", ROWS, KEYLESS_ROWS);
        List<String> sql = new ArrayList<>();
        // documents: an attachment column added later, NULL in the old rows, 1 MB in the newer ones
        sql.add("CREATE TABLE documents (id int PRIMARY KEY, title varchar(40), attachment longblob)");
        StringBuilder narrow = new StringBuilder("INSERT INTO documents VALUES ");
        for (int i = 1; i <= NARROW_ROWS; i++) {
            narrow.append(i == 1 ? "" : ", ").append("(").append(i).append(", 'document ").append(i).append("', NULL)");
        }
        sql.add(narrow.toString());
        for (int i = NARROW_ROWS + 1; i <= NARROW_ROWS + WIDE_ROWS; i++) {
            sql.add("INSERT INTO documents VALUES (" + i + ", 'document " + i + "', UNHEX(REPEAT(MD5(" + i
                    + "), 65536)))");
        }
        mariadb.execute("wide", sql.toArray(new String[0]));
        TestingMariaDb.User user = mariadb.grantCapture();
        Files.writeString(dir.resolve("pipeline.yaml"), String.join("\n", "name: wide", "source:", "  type: mysql",
                "  port: " + mariadb.port(), "  database: wide", "  user: " + user.name(), "  password: ${env:PW}",
                "sink:", "  type: jsonl", "  path: out", ""));

        FerryProcess run = FerryProcess.startWithHeap(dir, Map.of("PW", user.password()), "192m", "run", "-c",
                "pipeline.yaml", "--once");
        // -XX:+ExitOnOutOfMemoryError: an OutOfMemoryError is exit code 3
        assertThat(run.waitFor()).as(run.stdout() + run.stderr()).isEqualTo(0);
        try (java.sql.Connection c = mariadb.connect("wide")) {
            ReplayVerifier.Result result = ReplayVerifier.verify(dir.resolve("out"), c,
                    List.of("wide.t", "wide.documents"));
            assertThat(result.problems()).isEmpty();
            assertThat(result.events()).isEqualTo(ROWS + NARROW_ROWS + WIDE_ROWS);
        }
        assertThat(WideRows.reads(dir.resolve("out/wide.k"))).as("snapshot reads of the table without a key")
                .isEqualTo(KEYLESS_ROWS);
    }
}
