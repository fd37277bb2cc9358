package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ComponentConfig;
import dev.ferry.event.TableId;
import dev.ferry.testkit.PrivatePostgresTest;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a chunked snapshot's readers read chunks, driven step by step without a stream:
 * <ul>
 *   <li>a chunk's COPY whose connection fails in the middle: pgjdbc keeps the copy open (it holds
 *   the connection for it) after the I/O error, and the next statement on that connection would wait
 *   for it for ever. The chunk must end with the connection's error instead, for the source to
 *   reconnect;</li>
 *   <li>snapshot_max_rows_per_second paces chunks by the rows each asks for: a chunk of wide rows
 *   asks for fewer than snapshot_chunk_rows (half of its 8 MiB at the width the chunk before it saw),
 *   and is charged those, or a table of wide rows is read at a fraction of the cap.</li>
 * </ul>
 */
class ChunkReadsIT extends PrivatePostgresTest {
    @TempDir
    Path state;

    /** Ferry's regular connections to {@code database}, as the source opens them. */
    private static PostgresConnections connections(String database) throws Exception {
        return new PostgresConnections(ConnectionSettings.read(database, ComponentConfig.ofYaml("source",
                pg.sourceYaml(database))));
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aChunkWhoseConnectionDiesInItsCopyFailsInsteadOfHanging() throws Exception {
        pg.createDatabase("dies");
        pg.execute("dies", "CREATE TABLE t (n int PRIMARY KEY, pad text)",
                "INSERT INTO t SELECT i, repeat('x', 100) FROM generate_series(1, 200) i",
                // the chunk's COPY (only it) stops at row 50, long enough for its backend to be terminated there
                "CREATE FUNCTION slow(n int) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN "
                        + "IF n = 50 AND current_query() LIKE 'COPY%' THEN PERFORM pg_sleep(25); END IF; "
                        + "RETURN true; END $$");
        PostgresConnections connections = connections("dies");
        Path folder = state.resolve("snapshots");
        java.nio.file.Files.createDirectories(folder);
        ChunkedSnapshots.request(folder, new TableId("public", "t"), "slow(n)");
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try (ChunkedSnapshots snapshots = new ChunkedSnapshots(folder, "ferry", 1000, new SnapshotThrottle(0), 1,
                connections::regular, null);
             Connection admin = pg.connect("dies")) {
            // no helper threads: step() reads the chunk itself, here on the reader thread
            Future<?> step = reader.submit(() -> {
                snapshots.step();
                return null;
            });
            boolean terminated = false;
            while (!terminated && !step.isDone()) {
                try (Statement s = admin.createStatement();
                     ResultSet rs = s.executeQuery("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             + "WHERE wait_event = 'PgSleep' AND query LIKE 'COPY%'")) {
                    terminated = rs.next();
                }
                Thread.sleep(10);
            }
            assertThat(terminated).as("the chunk's COPY was terminated in the middle").isTrue();
            try {
                step.get(60, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                step.cancel(true); // unsticks pgjdbc's wait for the lock (it gives up when interrupted)
                throw new AssertionError("the chunk's read still waits for its connection 60 s after it died", e);
            }
            // the chunk's failure reaches the capture thread as the connection's: the source reconnects
            assertThatThrownBy(snapshots::step).isInstanceOfSatisfying(SQLException.class,
                    e -> assertThat(e.getSQLState()).startsWith("08"));
        } finally {
            reader.shutdownNow();
        }
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aChunkOfWideRowsIsChargedTheRowsItAsksFor() throws Exception {
        pg.createDatabase("paced");
        // 250 rows of 256 kB in ranges of 100: the first chunk is cut at 8 MiB (32 rows), the next asks for 16
        pg.execute("paced", "CREATE TABLE wide (n int PRIMARY KEY, pad text)",
                "INSERT INTO wide SELECT i, repeat('x', 262144) FROM generate_series(1, 250) i");
        PostgresConnections connections = connections("paced");
        // a cap of 20 rows a second, chunks of 100 rows: 5 s after a chunk charged whole
        SnapshotThrottle throttle = new SnapshotThrottle(20);
        ArrayDeque<Runnable> handedOut = new ArrayDeque<>();
        try (ChunkedSnapshots snapshots = new ChunkedSnapshots(state.resolve("snapshots"), "ferry", 100, throttle, 2,
                connections::regular, null)) {
            snapshots.helpers(handedOut::add); // the test runs the readers' tasks itself
            snapshots.enqueueMissing(List.of(new TableId("public", "wide")));
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
