package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.config.ComponentConfig;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.source.Source;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Transactions larger than {@code logical_decoding_work_mem} (64 kB here): with protocol 2 the
 * server streams them while they run and Ferry spills them until their commit; with protocol 1 the
 * server spills them itself. Either way the events are exactly the committed changes, in commit
 * order: rolled-back savepoints (nested ones too) and aborted transactions leave nothing.
 */
class StreamedTransactionIT {
    private static TestingPostgres pg;
    private final PostgresSourceFactory factory = new PostgresSourceFactory();

    @org.junit.jupiter.api.io.TempDir
    Path dir;

    @BeforeAll
    static void startServer() {
        pg = TestingPostgres.builder().setting("logical_decoding_work_mem", "64kB").start();
    }

    @AfterAll
    static void stopServer() {
        pg.close();
    }

    @ParameterizedTest(name = "stream_in_progress: {0}")
    @ValueSource(booleans = {true, false})
    void onlyCommittedChangesArriveInCommitOrder(boolean streamInProgress) throws Exception {
        String db = "big_" + streamInProgress;
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE t (id int PRIMARY KEY, v text)", "CREATE TABLE small (id int PRIMARY KEY)");
        CollectingSink sink = new CollectingSink();
        assertThat(runOnce(db, streamInProgress, sink)).isEmpty();

        try (Connection big = pg.connect(db); Connection other = pg.connect(db); Statement s = big.createStatement()) {
            big.setAutoCommit(false);
            s.execute("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g");
            s.execute("SAVEPOINT a");
            s.execute("INSERT INTO t SELECT g, repeat('y', 100) FROM generate_series(5001, 10000) g");
            s.execute("SAVEPOINT b");
            s.execute("INSERT INTO t SELECT g, repeat('z', 100) FROM generate_series(10001, 12000) g");
            s.execute("RELEASE b");
            s.execute("ROLLBACK TO a"); // voids 5001..12000, the nested savepoint's rows too
            s.execute("INSERT INTO t SELECT g, repeat('w', 100) FROM generate_series(20001, 23000) g");
            s.execute("SAVEPOINT c");
            s.execute("UPDATE t SET v = 'updated' WHERE id <= 100");
            s.execute("RELEASE c");
            try (Statement o = other.createStatement()) {
                o.execute("INSERT INTO small VALUES (1)"); // commits while the big one is open
            }
            big.commit();
            s.execute("INSERT INTO t SELECT g, 'gone' FROM generate_series(30001, 40000) g");
            big.rollback();
        }
        pg.execute(db, "INSERT INTO small VALUES (2)");

        List<ChangeEvent> events = runOnce(db, streamInProgress, sink);
        assertThat(events.get(0).table().name()).as("commit order: the small transaction first").isEqualTo("small");
        assertThat(events.get(events.size() - 1).table().name()).isEqualTo("small");
        List<ChangeEvent> bigOnes = events.subList(1, events.size() - 1);
        assertThat(bigOnes).hasSize(8_100);
        assertThat(bigOnes).filteredOn(e -> e.op() == Op.UPDATE).hasSize(100);
        Set<Long> ids = new TreeSet<>();
        bigOnes.stream().filter(e -> e.op() == Op.CREATE).forEach(e -> ids.add((Long) e.after().get(0)));
        assertThat(ids).hasSize(8_000).allMatch(id -> id <= 5000 || (id >= 20001 && id <= 23000));
        for (int i = 0; i < bigOnes.size(); i++) {
            PgPosition p = (PgPosition) bigOnes.get(i).position();
            assertThat(p.index()).isEqualTo(i);
            assertThat(p.lsn()).isEqualTo(((PgPosition) bigOnes.get(0).position()).lsn());
        }
        for (int i = 1; i < sink.events.size(); i++) {
            assertThat(sink.events.get(i).position()).isGreaterThan(sink.events.get(i - 1).position());
        }

        long[] stats = slotStats("ferry_" + db);
        System.out.println("StreamedTransactionIT stream_in_progress=" + streamInProgress + ": server stream_txns="
                + stats[0] + " stream_bytes=" + stats[1] + " spill_txns=" + stats[2] + " spill_bytes=" + stats[3]);
        if (streamInProgress) {
            assertThat(stats[0]).as("the server streamed transactions in progress").isPositive();
            assertThat(stats[3]).as("and spilled nothing to its own disk").isZero();
            try (Stream<Path> left = Files.list(dir.resolve("work/spill"))) {
                assertThat(left).as("spill files are deleted once read back or aborted").isEmpty();
            }
        } else {
            assertThat(stats[0]).isZero();
            assertThat(stats[2]).as("protocol 1: the server spills to pg_replslot").isPositive();
        }
    }

    private List<ChangeEvent> runOnce(String db, boolean streamInProgress, CollectingSink sink) throws Exception {
        int before = sink.events.size();
        String yaml = "type: postgres\nport: " + pg.port() + "\ndatabase: " + db + "\nuser: " + pg.user()
                + "\npassword: '" + pg.password() + "'\nstream_in_progress: " + streamInProgress + "\n";
        try (Source source = factory.create(db, ComponentConfig.ofYaml("source", yaml));
             FileLog log = FileLog.open(dir.resolve("log-" + db), factory.positionCodec())) {
            source.workFolder(dir.resolve("work"));
            new Pipeline(db, source, log, List.of(sink), List.of("c"), 1000).run(Mode.ONCE);
        }
        return List.copyOf(sink.events.subList(before, sink.events.size()));
    }

    /** stream_txns, stream_bytes, spill_txns, spill_bytes of the slot, once the server has counted them. */
    private static long[] slotStats(String slot) throws Exception {
        long[] out = new long[4];
        for (int attempt = 0; attempt < 50; attempt++) {
            try (Connection c = pg.connect("postgres"); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT stream_txns, stream_bytes, spill_txns, spill_bytes "
                         + "FROM pg_stat_replication_slots WHERE slot_name = '" + slot + "'")) {
                if (rs.next()) {
                    for (int i = 0; i < 4; i++) {
                        out[i] = rs.getLong(i + 1);
                    }
                    if (out[0] + out[2] > 0) {
                        return out;
                    }
                }
            }
            Thread.sleep(100);
        }
        return out;
    }
}
