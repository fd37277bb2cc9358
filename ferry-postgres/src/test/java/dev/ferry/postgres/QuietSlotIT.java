package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.config.ComponentConfig;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.source.Position;
import dev.ferry.source.Source;
import dev.ferry.testkit.PrivatePostgresTest;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Heartbeats: a slot on a quiet database must not hold the WAL that others write. The walsender
 * decodes (and skips) WAL it does not publish and sends keepalives with its WAL end; Ferry appends that
 * position to the Log while no transaction is open and acknowledges it, so the slot's confirmed flush
 * LSN, and with it its restart LSN, keep up with the server.
 */
class QuietSlotIT extends PrivatePostgresTest {
    private static final long MB = 1024 * 1024;
    /** How close to the server's WAL position the quiet slot must confirm. */
    private static final long CONFIRM_SLACK = MB;
    /** How much WAL the quiet slot may still hold (one WAL segment is 16 MB). */
    private static final long RETAINED_LIMIT = 16 * MB;

    @TempDir
    Path state;

    @Test
    void quietSlotConfirmsTheWalAnotherDatabaseWrites() throws Exception {
        pg.createDatabase("quiet");
        pg.execute("quiet", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)");
        pg.createDatabase("busy");
        pg.execute("busy", "CREATE TABLE filler (id bigint, payload text)");
        streamWhileOthersWrite("quiet", "", "busy");
    }

    @Test
    void quietSlotConfirmsTheWalOfUnpublishedTablesInItsOwnDatabase() throws Exception {
        pg.createDatabase("partly");
        pg.execute("partly", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)",
                "CREATE TABLE filler (id bigint, payload text)");
        streamWhileOthersWrite("partly", "tables: [public.t]\n", "partly");
    }

    @Test
    void aQuietStreamWaitsForTheServerInOneWaitPerPoll() throws Exception {
        pg.createDatabase("still");
        pg.execute("still", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)");
        PostgresSourceFactory factory = new PostgresSourceFactory();
        String yaml = "type: postgres\nhost: " + pg.host() + "\nport: " + pg.port() + "\ndatabase: still\nuser: "
                + pg.user() + "\npassword: '" + pg.password() + "'\n";
        try (PostgresSource source = (PostgresSource) factory.create("still", ComponentConfig.ofYaml("source", yaml))) {
            source.start(java.util.Optional.empty(), false);
            int polls = 0;
            while (!source.poll(java.time.Duration.ofMillis(200)).events().isEmpty()) {
                assertThat(++polls).as("the one-row snapshot ends").isLessThan(100);
            }
            long before = source.emptyWaits();
            for (int i = 0; i < 4; i++) {
                assertThat(source.poll(java.time.Duration.ofMillis(500)).events()).isEmpty();
            }
            // with no snapshot work in hand, each poll waits in the kernel until its deadline: no
            // wake-up every millisecond (hundreds of them) beside a source that sends nothing
            assertThat(source.emptyWaits() - before).isBetween(1L, 8L);
        }
    }

    /**
     * Streams the quiet database while about 80 MB of WAL go into {@code filler} of {@code busyDb},
     * then checks the slot confirmed up to the server's WAL position and holds almost no WAL.
     */
    private void streamWhileOthersWrite(String quietDb, String extraYaml, String busyDb) throws Exception {
        PostgresSourceFactory factory = new PostgresSourceFactory();
        String yaml = "type: postgres\nhost: " + pg.host() + "\nport: " + pg.port() + "\ndatabase: " + quietDb
                + "\nuser: " + pg.user() + "\npassword: '" + pg.password() + "'\n" + extraYaml;
        String slot = "ferry_" + quietDb;
        CollectingSink sink = new CollectingSink();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (Source source = factory.create(quietDb, ComponentConfig.ofYaml("source", yaml));
             FileLog log = FileLog.open(state.resolve("log"), factory.positionCodec())) {
            Pipeline pipeline = new Pipeline(quietDb, source, log, List.of(sink), List.of("collect"), 1000);
            Thread runner = new Thread(() -> {
                try {
                    pipeline.run(Mode.STREAM);
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "quiet-pipeline");
            runner.start();
            try {
                awaitSnapshotDelivered(sink, failure);
                long walBefore = lsn("SELECT pg_current_wal_lsn()");
                long retainedBefore = retained(slot);

                for (int i = 0; i < 4; i++) {
                    pg.execute(busyDb, "INSERT INTO filler SELECT g, repeat(md5(g::text), 8) "
                            + "FROM generate_series(1, 60000) g");
                }
                // A checkpoint logs the running transactions, where a slot's restart LSN can move;
                // the server does the same by itself every 15 s while WAL is written.
                pg.execute(busyDb, "CHECKPOINT");
                long walAfter = lsn("SELECT pg_current_wal_lsn()");
                long written = walAfter - walBefore;
                assertThat(written).as("WAL written by the busy tables").isGreaterThan(50 * MB);

                long deadline = System.currentTimeMillis() + 10_000;
                long confirmed = confirmedFlush(slot);
                long retainedWhileRunning = retained(slot);
                while ((confirmed < walAfter - CONFIRM_SLACK || retainedWhileRunning >= RETAINED_LIMIT)
                        && System.currentTimeMillis() < deadline && failure.get() == null) {
                    Thread.sleep(200);
                    confirmed = confirmedFlush(slot);
                    retainedWhileRunning = retained(slot);
                }
                System.out.printf("QuietSlotIT (%s, PostgreSQL %d): %,d bytes of WAL written in %s (to %s); slot %s "
                                + "confirmed %s (%,d bytes short); WAL retained by the slot: %,d bytes before, %,d after; "
                                + "Log position %s%n", quietDb, pg.serverVersionNum(), written, busyDb,
                        PgPosition.formatLsn(walAfter), slot, PgPosition.formatLsn(confirmed), walAfter - confirmed,
                        retainedBefore, retainedWhileRunning, log.lastPosition().map(Position::display).orElse("-"));
                assertThat(failure.get()).isNull();
                assertThat(confirmed).as("the quiet slot's confirmed_flush_lsn follows the server's WAL position %s",
                        PgPosition.formatLsn(walAfter)).isGreaterThanOrEqualTo(walAfter - CONFIRM_SLACK);
                assertThat(retainedWhileRunning).as("WAL the quiet slot holds (from its restart_lsn)")
                        .isLessThan(RETAINED_LIMIT);
            } finally {
                pipeline.stop();
                runner.join(60_000);
            }
            assertThat(runner.isAlive()).isFalse();
            assertThat(failure.get()).isNull();
            assertThat(sink.events).as("the captured table had no changes to stream").hasSize(1);
        }
        // A stopped pipeline has told the server its final position: the slot still holds next to nothing.
        pg.execute(busyDb, "CHECKPOINT");
        assertThat(retained(slot)).as("WAL the stopped quiet slot holds").isLessThan(RETAINED_LIMIT);
    }

    private static void awaitSnapshotDelivered(CollectingSink sink, AtomicReference<Throwable> failure)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + 20_000;
        while (System.currentTimeMillis() < deadline && failure.get() == null) {
            synchronized (sink) {
                if (!sink.events.isEmpty()) {
                    return;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the snapshot did not arrive within 20 s", failure.get());
    }

    private static long confirmedFlush(String slot) throws SQLException {
        return lsn("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '" + slot + "'");
    }

    /** pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) of the slot. */
    private static long retained(String slot) throws SQLException {
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
                     + "FROM pg_replication_slots WHERE slot_name = '" + slot + "'")) {
            assertThat(rs.next()).as("slot %s exists", slot).isTrue();
            return rs.getLong(1);
        }
    }

    private static long lsn(String sql) throws SQLException {
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT (" + sql + ")::text")) {
            assertThat(rs.next()).isTrue();
            return PgPosition.parseLsn(rs.getString(1));
        }
    }
}
