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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A chunk's COPY whose connection fails in the middle: pgjdbc keeps the copy open (it holds the
 * connection for it) after the I/O error, and the next statement on that connection would wait for it
 * for ever. The chunk must end with the connection's error instead, for the source to reconnect.
 */
class ChunkCopyFailureIT extends PrivatePostgresTest {
    @TempDir
    Path state;

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
        ConnectionSettings settings = ConnectionSettings.read("dies", ComponentConfig.ofYaml("source",
                pg.sourceYaml("dies")));
        PostgresConnections connections = new PostgresConnections(settings);
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
            while (!terminated) {
                try (Statement s = admin.createStatement();
                     ResultSet rs = s.executeQuery("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             + "WHERE wait_event = 'PgSleep' AND query LIKE 'COPY%'")) {
                    terminated = rs.next();
                }
                Thread.sleep(10);
            }
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
}
