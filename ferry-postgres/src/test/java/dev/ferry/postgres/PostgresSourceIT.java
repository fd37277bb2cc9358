package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ComponentConfig;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.source.Check;
import dev.ferry.source.Source;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PostgresSource against a private PostgreSQL, driven through a real Pipeline and FileLog. */
class PostgresSourceIT extends PrivatePostgresTest {
    private static final AtomicInteger DATABASES = new AtomicInteger();

    @TempDir
    Path state;

    private String newDatabase(String... ddl) {
        String db = "db" + DATABASES.incrementAndGet();
        pg.createDatabase(db);
        pg.execute(db, ddl);
        return db;
    }

    private PostgresSourceFactory factory = new PostgresSourceFactory();

    private Source source(String db, String extraYaml) throws FerryException {
        String yaml = "type: postgres\nhost: " + pg.host() + "\nport: " + pg.port() + "\ndatabase: " + db
                + "\nuser: " + pg.user() + "\npassword: '" + pg.password() + "'\n" + extraYaml;
        ComponentConfig c = ComponentConfig.ofYaml("source", yaml);
        c.rejectUnknownKeys(factory.settings());
        return factory.create(db, c);
    }

    /** Runs a batch run into the sink and returns the events it delivered in this run. */
    private List<ChangeEvent> runOnce(String db, CollectingSink sink) throws Exception {
        int before = sink.events.size();
        try (Source source = source(db, "");
             FileLog log = FileLog.open(state.resolve("log"), factory.positionCodec())) {
            new Pipeline(db, source, log, List.of(sink), List.of("collect"), 1000).run(Mode.ONCE);
        }
        return List.copyOf(sink.events.subList(before, sink.events.size()));
    }

    @Test
    void snapshotsExistingRowsThenStreamsInsertsUpdatesDeletesAndTruncate() throws Exception {
        String db = newDatabase("CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2))",
                "INSERT INTO items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 500) g");
        CollectingSink sink = new CollectingSink();

        List<ChangeEvent> first = runOnce(db, sink);
        assertThat(first).hasSize(500).allMatch(e -> e.op() == Op.READ && e.position().snapshot());
        assertThat(first.get(0).after().get(2)).isEqualTo("1.50");

        pg.execute(db, "INSERT INTO items VALUES (501, 'new', 9.99)",
                "UPDATE items SET price = 10.00 WHERE id = 501",
                "DELETE FROM items WHERE id = 1",
                "TRUNCATE items");
        List<ChangeEvent> second = runOnce(db, sink);
        assertThat(second).extracting(ChangeEvent::op)
                .containsExactly(Op.CREATE, Op.UPDATE, Op.DELETE, Op.TRUNCATE);
        ChangeEvent insert = second.get(0);
        assertThat(insert.after().get(1)).isEqualTo("new");
        assertThat(insert.txId()).isPositive();
        assertThat(second.get(1).after().get(2)).isEqualTo("10.00");
        assertThat(second.get(2).before().get(0)).isEqualTo(1L);
        assertThat(second.get(2).after()).isNull();
        assertThat(second.get(3).table().name()).isEqualTo("items");
        // positions strictly increase across the whole history
        for (int i = 1; i < sink.events.size(); i++) {
            assertThat(sink.events.get(i).position()).isGreaterThan(sink.events.get(i - 1).position());
        }

        assertThat(runOnce(db, sink)).as("a second batch run with no new changes delivers nothing").isEmpty();
    }

    @Test
    void snapshotInterruptedByACrashStartsOverWithoutDuplicates() throws Exception {
        String db = newDatabase("CREATE TABLE items (id int PRIMARY KEY, v text)",
                "INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 10000) g");
        // a first run that dies after part of the snapshot reached the Log
        try (Source source = source(db, "");
             FileLog log = FileLog.open(state.resolve("log"), factory.positionCodec())) {
            source.start(Optional.empty(), false);
            var batch = source.poll(java.time.Duration.ofSeconds(1));
            assertThat(batch.events()).isNotEmpty().hasSizeLessThan(10_000);
            log.append(batch.events(), batch.position());
            source.acknowledge(batch.position());
            assertThat(log.lastPosition().orElseThrow().snapshot()).isTrue();
        }
        pg.execute(db, "UPDATE items SET v = 'changed' WHERE id = 1");
        CollectingSink sink = new CollectingSink();
        List<ChangeEvent> events = runOnce(db, sink);
        assertThat(events).hasSize(10_000).allMatch(e -> e.op() == Op.READ);
        assertThat(events.stream().map(e -> e.after().get(0)).distinct()).hasSize(10_000);
        assertThat(events.stream().filter(e -> e.after().get(0).equals(1L)).findFirst().orElseThrow().after().get(1))
                .as("the new snapshot sees the change made after the interrupted one").isEqualTo("changed");
        assertThat(runOnce(db, sink)).isEmpty();
    }

    @Test
    void partitionedTableArrivesUnderItsRootInSnapshotAndStream() throws Exception {
        String db = newDatabase("CREATE TABLE m (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region)",
                "CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu')",
                "CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us')",
                "INSERT INTO m VALUES (1, 'eu'), (2, 'us')");
        CollectingSink sink = new CollectingSink();
        assertThat(runOnce(db, sink)).hasSize(2).allMatch(e -> e.table().name().equals("m"));
        pg.execute(db, "INSERT INTO m VALUES (3, 'eu'), (4, 'us')", "UPDATE m SET id = 5 WHERE id = 1");
        assertThat(runOnce(db, sink)).hasSize(3).allMatch(e -> e.table().name().equals("m"));
    }

    @Test
    void slotConfirmsOnlyWhatTheLogHoldsAndReleasesWalWhenQuiet() throws Exception {
        String db = newDatabase("CREATE TABLE t (id int PRIMARY KEY)");
        CollectingSink sink = new CollectingSink();
        runOnce(db, sink);
        pg.execute(db, "INSERT INTO t SELECT generate_series(1, 100)");
        runOnce(db, sink);
        long lastEventLsn = ((PgPosition) sink.events.get(sink.events.size() - 1).position()).lsn();
        try (FileLog log = FileLog.open(state.resolve("log"), factory.positionCodec())) {
            long logged = ((PgPosition) log.lastPosition().orElseThrow()).lsn();
            long confirmed = confirmedFlush(db);
            assertThat(confirmed).isGreaterThanOrEqualTo(lastEventLsn).isLessThanOrEqualTo(logged);
        }
    }

    @Test
    void largeTransactionArrivesWholeInBoundedBatches() throws Exception {
        String db = newDatabase("CREATE TABLE big (id int PRIMARY KEY, payload text)");
        CollectingSink sink = new CollectingSink();
        runOnce(db, sink);
        pg.execute(db, "INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g");
        List<ChangeEvent> events = runOnce(db, sink);
        assertThat(events).hasSize(50_000);
        assertThat(events.stream().map(e -> ((PgPosition) e.position()).lsn()).distinct()).hasSize(1);
        assertThat(sink.batchSizes).allMatch(n -> n <= 1000);
        assertThat(((PgPosition) events.get(49_999).position()).index()).isEqualTo(49_999);
    }

    @Test
    void snapshotAndStreamGiveTheSameValues() throws Exception {
        String columns = "id int PRIMARY KEY, b boolean, i2 smallint, i8 bigint, f4 real, f8 double precision, "
                + "n numeric, n2 numeric(8,3), t text, vc varchar(10), ch char(3), by bytea, d date, ts timestamp, "
                + "tz timestamptz, tm time, iv interval, j json, jb jsonb, u uuid, ia int[], ta text[], ip inet, bi bit(4)";
        String values = "true, -3, 9007199254740993, 1.5, 'NaN', 'NaN', 12.345, 'héllo \"q\"', 'v', 'ab', '\\x00ff', "
                + "'0044-03-15 BC', '2026-11-24 12:34:56.789', '2026-11-24 12:34:56.123456+02', '23:59:59.5', "
                + "'1 year 2 months 3 days 04:05:06.789', '{\"a\": [1, 2]}', '{\"b\": null, \"a\": 1}', "
                + "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{\"x,y\",NULL,\"NULL\"}', '10.0.0.1/8', B'1010'";
        String db = newDatabase("CREATE TABLE v (" + columns + ")", "INSERT INTO v VALUES (1, " + values + ")");
        CollectingSink sink = new CollectingSink();
        ChangeEvent snap = runOnce(db, sink).get(0);
        pg.execute(db, "INSERT INTO v VALUES (2, " + values + ")");
        ChangeEvent streamed = runOnce(db, sink).get(0);
        assertThat(streamed.schema()).isEqualTo(snap.schema());
        Map<String, Object> a = asMap(snap);
        Map<String, Object> b = asMap(streamed);
        a.remove("id");
        b.remove("id");
        assertThat(b).isEqualTo(a);
        assertThat(a).containsEntry("b", true).containsEntry("i8", 9007199254740993L).containsEntry("n", "NaN")
                .containsEntry("n2", "12.345").containsEntry("d", "-0043-03-15")
                .containsEntry("ts", "2026-11-24T12:34:56.789").containsEntry("tz", "2026-11-24T10:34:56.123456Z")
                .containsEntry("iv", "P1Y2M3DT4H5M6.789S").containsEntry("jb", "{\"a\": 1, \"b\": null}")
                .containsEntry("ia", java.util.Arrays.asList(1L, null, 3L)).containsEntry("ch", "ab ")
                .containsEntry("ip", "10.0.0.1/8")
                .containsEntry("bi", "1010");
        assertThat((Double) a.get("f8")).isNaN();
        assertThat(a.get("by")).isEqualTo("00ff");
    }

    private static Map<String, Object> asMap(ChangeEvent e) {
        Map<String, Object> m = new java.util.HashMap<>();
        for (int i = 0; i < e.schema().size(); i++) {
            Object v = e.after().get(i);
            m.put(e.schema().column(i).name(), v instanceof byte[] bytes ? java.util.HexFormat.of().formatHex(bytes) : v);
        }
        return m;
    }

    @Test
    void walLevelReplicaIsAPrerequisiteErrorWithTheFix() throws Exception {
        try (TestingPostgres replica = TestingPostgres.builder().setting("wal_level", "replica").start()) {
            replica.createDatabase("app");
            String yaml = "type: postgres\nhost: 127.0.0.1\nport: " + replica.port() + "\ndatabase: app\nuser: "
                    + replica.user() + "\npassword: '" + replica.password() + "'\n";
            try (Source source = factory.create("app", ComponentConfig.ofYaml("source", yaml))) {
                assertThatThrownBy(() -> source.start(Optional.empty(), false))
                        .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PREREQUISITE))
                        .hasMessageContaining("wal_level=replica")
                        .hasMessageContaining("ALTER SYSTEM SET wal_level = logical");
                assertThat(source.check()).anySatisfy(c -> {
                    assertThat(c.subject()).isEqualTo("wal_level");
                    assertThat(c.status()).isEqualTo(Check.Status.PROBLEM);
                });
            }
        }
    }

    @Test
    void checkExplainsATableWithoutKeyAndAMissingReplicationPrivilege() throws Exception {
        String db = newDatabase("CREATE TABLE nokey (a int)", "CREATE ROLE plain LOGIN PASSWORD 'pw'",
                "GRANT SELECT ON nokey TO plain");
        String yaml = "type: postgres\nhost: 127.0.0.1\nport: " + pg.port() + "\ndatabase: " + db
                + "\nuser: plain\npassword: pw\n";
        try (Source source = factory.create(db, ComponentConfig.ofYaml("source", yaml))) {
            List<Check> checks = source.check();
            assertThat(checks).anySatisfy(c -> {
                assertThat(c.subject()).isEqualTo("table public.nokey");
                assertThat(c.status()).isEqualTo(Check.Status.WARNING);
                assertThat(c.fix()).contains("REPLICA IDENTITY FULL");
            });
            assertThat(checks).anySatisfy(c -> {
                assertThat(c.subject()).isEqualTo("replication privilege");
                assertThat(c.fix()).contains("ALTER ROLE \"plain\" WITH REPLICATION");
            });
        } finally {
            pg.execute(db, "DROP OWNED BY plain", "DROP ROLE plain");
        }
    }

    @Test
    void wrongPasswordIsAConfigErrorAndAClosedPortIsConnectivity() throws Exception {
        String db = newDatabase("CREATE TABLE t (id int PRIMARY KEY)");
        String wrong = "type: postgres\nport: " + pg.port() + "\ndatabase: " + db + "\nuser: " + pg.user()
                + "\npassword: not-it\n";
        try (Source source = factory.create(db, ComponentConfig.ofYaml("source", wrong))) {
            assertThatThrownBy(source::check).isInstanceOfSatisfying(FerryException.class,
                    e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG)).hasMessageContaining("rejected the password")
                    .hasMessageNotContaining("not-it");
        }
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String unreachable = "type: postgres\nport: " + closed + "\ndatabase: x\nuser: u\n";
        try (Source source = factory.create("x", ComponentConfig.ofYaml("source", unreachable))) {
            assertThatThrownBy(() -> source.start(Optional.empty(), false)).isInstanceOfSatisfying(FerryException.class,
                    e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONNECTIVITY)).hasMessageContaining("Cannot connect");
        }
    }

    private long confirmedFlush(String db) throws Exception {
        try (Connection c = pg.connect(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'ferry_" + db + "'")) {
            rs.next();
            return PgPosition.parseLsn(rs.getString(1));
        }
    }
}
