package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.config.ComponentConfig;
import dev.ferry.testkit.PrivatePostgresTest;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * snapshot_max_rows_per_second paces chunks by the rows each asks for: a chunk of wide rows asks for
 * fewer than snapshot_chunk_rows (half of its 8 MiB at the width the chunk before it saw), and is
 * charged those, or a table of wide rows is read at a fraction of the cap.
 */
class ChunkPacingIT extends PrivatePostgresTest {
    @TempDir
    Path state;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aChunkOfWideRowsIsChargedTheRowsItAsksFor() throws Exception {
        pg.createDatabase("paced");
        // 250 rows of 256 kB in ranges of 100: the first chunk is cut at 8 MiB (32 rows), the next asks for 16
        pg.execute("paced", "CREATE TABLE wide (n int PRIMARY KEY, pad text)",
                "INSERT INTO wide SELECT i, repeat('x', 262144) FROM generate_series(1, 250) i");
        ConnectionSettings settings = ConnectionSettings.read("paced", ComponentConfig.ofYaml("source",
                pg.sourceYaml("paced")));
        PostgresConnections connections = new PostgresConnections(settings);
        // a cap of 20 rows a second, chunks of 100 rows: 5 s after a chunk charged whole
        SnapshotThrottle throttle = new SnapshotThrottle(20);
        ArrayDeque<Runnable> handedOut = new ArrayDeque<>();
        try (ChunkedSnapshots snapshots = new ChunkedSnapshots(state.resolve("snapshots"), "ferry", 100, throttle, 2,
                connections::regular, null)) {
            snapshots.helpers(handedOut::add); // the test runs the readers' tasks itself
            snapshots.enqueueMissing(List.of(new dev.ferry.event.TableId("public", "wide")));
            snapshots.step();
            assertThat(handedOut).as("the first chunk, charged 100 rows: the next waits 5 s").hasSize(1);
            handedOut.poll().run(); // reads it: 32 rows, and the next chunk of the table asks for 16
            while (handedOut.isEmpty()) {
                Thread.sleep(50);
                snapshots.step();
            }
            long handed = System.nanoTime();
            // the second range's chunk, charged its 16 rows: the chunk after it may go 0.8 s later (5 s charged 100)
            assertThat(throttle.mayRead(handed + 2_500_000_000L)).as("a chunk of 16 rows holds the next back 0.8 s")
                    .isTrue();
        }
    }
}
