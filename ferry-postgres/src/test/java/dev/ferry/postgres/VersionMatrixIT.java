package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The core behaviours against each PostgreSQL this machine has: the local server binaries
 * ({@code FERRY_PG_BIN}, else the newest under /usr/lib/postgresql) and the embedded bundle. A server
 * whose binaries are missing is skipped, not failed. Each server starts once for the class.
 */
class VersionMatrixIT {
    /** The servers of the matrix. */
    enum Server {
        LOCAL, EMBEDDED, EMBEDDED_17
    }

    private static final Map<Server, TestingPostgres> SERVERS = new EnumMap<>(Server.class);
    private static final Map<Server, String> VERSIONS = new EnumMap<>(Server.class);
    private static final AtomicInteger DATABASES = new AtomicInteger();

    @TempDir
    Path state;

    private final PostgresSourceFactory factory = new PostgresSourceFactory();

    @AfterAll
    static void stopServers() {
        SERVERS.values().forEach(TestingPostgres::close);
        System.out.println("VersionMatrixIT ran against: " + (VERSIONS.isEmpty() ? "no server" : VERSIONS));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Server.class)
    void aSnapshotWhoseExporterIsGoneIsALostConnectionSoTheSnapshotStartsOver(Server server) throws Exception {
        TestingPostgres pg = server(server);
        String db = newDatabase(pg, "CREATE TABLE t (id int PRIMARY KEY)");
        String name;
        try (java.sql.Connection exporter = pg.connect(db)) {
            exporter.setAutoCommit(false);
            exporter.setTransactionIsolation(java.sql.Connection.TRANSACTION_REPEATABLE_READ);
            try (java.sql.ResultSet rs = exporter.createStatement().executeQuery("SELECT pg_export_snapshot()")) {
                rs.next();
                name = rs.getString(1);
            }
        } // the exporter is gone, as when its walsender is killed
        try (java.sql.Connection reader = pg.connect(db)) {
            TableCopy copy = TableCopy.initial(reader, name, 0, List.of(new dev.ferry.event.TableId("public", "t")));
            assertThatThrownBy(copy::begin).isInstanceOfSatisfying(java.sql.SQLException.class,
                    e -> assertThat(e.getSQLState()).as(e.getMessage()).isEqualTo("08006"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Server.class)
    void snapshotThenInsertUpdateDeleteTruncateThenNothingNew(Server server) throws Exception {
        TestingPostgres pg = server(server);
        String db = newDatabase(pg, "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2))",
                "INSERT INTO items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 300) g");
        CollectingSink sink = new CollectingSink();

        List<ChangeEvent> snapshot = runOnce(pg, db, sink);
        assertThat(snapshot).hasSize(300).allMatch(e -> e.op() == Op.READ && e.position().snapshot());
        assertThat(snapshot.stream().map(e -> e.after().get(0)).distinct()).hasSize(300);
        assertThat(values(snapshot.get(0))).containsExactly(1L, "item 1", "1.50");

        pg.execute(db, "INSERT INTO items VALUES (301, 'new', 9.99)",
                "UPDATE items SET price = 10.00 WHERE id = 301",
                "DELETE FROM items WHERE id = 1",
                "TRUNCATE items");
        List<ChangeEvent> stream = runOnce(pg, db, sink);
        assertThat(stream).extracting(ChangeEvent::op).containsExactly(Op.CREATE, Op.UPDATE, Op.DELETE, Op.TRUNCATE);
        assertThat(values(stream.get(0))).containsExactly(301L, "new", "9.99");
        assertThat(values(stream.get(1))).containsExactly(301L, "new", "10.00");
        assertThat(stream.get(2).before().get(0)).isEqualTo(1L);
        assertThat(stream.get(2).after()).isNull();
        assertThat(stream.get(3).table().name()).isEqualTo("items");
        assertThat(stream.subList(0, 3)).allSatisfy(e -> assertThat(e.schema()).isEqualTo(snapshot.get(0).schema()));
        for (int i = 1; i < sink.events.size(); i++) {
            assertThat(sink.events.get(i).position()).isGreaterThan(sink.events.get(i - 1).position());
        }

        assertThat(runOnce(pg, db, sink)).as("a second batch run with no new changes delivers nothing").isEmpty();
        pg.execute(db, "INSERT INTO items VALUES (1, 'again', 1.00)");
        assertThat(runOnce(pg, db, sink)).extracting(ChangeEvent::op).containsExactly(Op.CREATE);
        assertThat(runOnce(pg, db, sink)).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Server.class)
    void columnChangesAndATableCreatedLaterArriveWithTheirSchema(Server server) throws Exception {
        TestingPostgres pg = server(server);
        String db = newDatabase(pg, "CREATE TABLE items (id int PRIMARY KEY, name text)",
                "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5) g");
        CollectingSink sink = new CollectingSink();
        assertThat(runOnce(pg, db, sink)).hasSize(5);

        pg.execute(db, "ALTER TABLE items ADD COLUMN qty int", "INSERT INTO items VALUES (6, 'six', 3)",
                "ALTER TABLE items DROP COLUMN name", "UPDATE items SET qty = 4 WHERE id = 6",
                "CREATE TABLE later (id int PRIMARY KEY, v text)", "INSERT INTO later VALUES (1, 'a'), (2, 'b')");
        List<ChangeEvent> stream = runOnce(pg, db, sink);
        List<ChangeEvent> items = stream.stream().filter(e -> e.table().name().equals("items")).toList();
        assertThat(items).extracting(ChangeEvent::op).containsExactly(Op.CREATE, Op.UPDATE);
        assertThat(items.get(0).schema().columns()).extracting(c -> c.name()).containsExactly("id", "name", "qty");
        assertThat(values(items.get(0))).containsExactly(6L, "six", 3L);
        assertThat(items.get(1).schema().columns()).extracting(c -> c.name()).containsExactly("id", "qty");
        assertThat(values(items.get(1))).containsExactly(6L, 4L);
        List<ChangeEvent> later = stream.stream().filter(e -> e.table().name().equals("later")).toList();
        assertThat(later).hasSize(2).allMatch(e -> e.op() == Op.READ && !e.position().snapshot());
        assertThat(values(later.get(1))).containsExactly(2L, "b");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Server.class)
    void valuesAreTheSameInSnapshotAndStream(Server server) throws Exception {
        TestingPostgres pg = server(server);
        String columns = "id int PRIMARY KEY, b boolean, i8 bigint, n numeric(12,4), nn numeric, f8 double precision, "
                + "t text, ch char(4), by bytea, d date, ts timestamp, tz timestamptz, iv interval, jb jsonb, u uuid, "
                + "ia int[], ta text[], ip inet";
        String values = "true, -9223372036854775808, 12345678.1234, 'NaN', '-Infinity', 'Grüße \"q\" ''s''', 'ab', "
                + "'\\x00ff10', '2024-02-29', '2024-02-29 23:59:59.999999', '1999-12-31 23:00:00-05', "
                + "'-1 mon 2 days 03:00:00.5', '{\"z\": [1, 2.50], \"a\": null}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', "
                + "'{1,NULL,-3}', '{\"x,y\",NULL,\"NULL\",\"\"}', '192.168.0.1'";
        String db = newDatabase(pg, "CREATE TABLE v (" + columns + ")", "INSERT INTO v VALUES (1, " + values + ")",
                "INSERT INTO v (id) VALUES (3)");
        CollectingSink sink = new CollectingSink();
        List<ChangeEvent> snapshot = runOnce(pg, db, sink);
        assertThat(snapshot).hasSize(2);
        pg.execute(db, "INSERT INTO v VALUES (2, " + values + ")", "INSERT INTO v (id) VALUES (4)");
        List<ChangeEvent> stream = runOnce(pg, db, sink);
        assertThat(stream).hasSize(2);

        assertThat(stream.get(0).schema()).isEqualTo(snapshot.get(0).schema());
        Map<String, Object> a = withoutId(snapshot.get(0));
        Map<String, Object> b = withoutId(stream.get(0));
        assertThat(b).isEqualTo(a);
        assertThat(a).containsEntry("b", true).containsEntry("i8", Long.MIN_VALUE).containsEntry("n", "12345678.1234")
                .containsEntry("nn", "NaN").containsEntry("f8", Double.NEGATIVE_INFINITY)
                .containsEntry("t", "Grüße \"q\" 's'").containsEntry("ch", "ab  ").containsEntry("by", "00ff10")
                .containsEntry("d", "2024-02-29").containsEntry("ts", "2024-02-29T23:59:59.999999")
                .containsEntry("tz", "2000-01-01T04:00:00Z").containsEntry("u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
                .containsEntry("ia", Arrays.asList(1L, null, -3L))
                .containsEntry("ta", Arrays.asList("x,y", null, "NULL", ""))
                .containsEntry("ip", "192.168.0.1");
        assertThat(a.get("iv")).isEqualTo(b.get("iv")).isNotNull();
        assertThat(a.get("jb")).isEqualTo(b.get("jb")).isNotNull();
        assertThat(withoutId(stream.get(1))).isEqualTo(withoutId(snapshot.get(1))).containsOnlyKeys(a.keySet())
                .allSatisfy((k, v) -> assertThat(v).as(k).isNull());
        assertThat(sameRowFromPostgres(pg, db)).as("the server's own text for interval and jsonb")
                .containsEntry("iv", a.get("iv")).containsEntry("jb", a.get("jb"));
    }

    /** The server's own output for the interval and jsonb of row 1, with Ferry's ISO interval form. */
    private static Map<String, Object> sameRowFromPostgres(TestingPostgres pg, String db) throws Exception {
        try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
            s.execute("SET intervalstyle = 'iso_8601'");
            try (ResultSet rs = s.executeQuery("SELECT iv::text, jb::text FROM v WHERE id = 1")) {
                rs.next();
                return Map.of("iv", rs.getString(1), "jb", rs.getString(2));
            }
        }
    }

    private static synchronized TestingPostgres server(Server server) {
        TestingPostgres pg = SERVERS.get(server);
        if (pg != null) {
            return pg;
        }
        if (server == Server.LOCAL) {
            Assumptions.assumeFalse(Boolean.getBoolean("ferry.pg.bundle"),
                    "-Dferry.pg.bundle=true makes every server the embedded bundle");
            Assumptions.assumeTrue(localBinariesExist(), "no local PostgreSQL: neither FERRY_PG_BIN nor "
                    + "/usr/lib/postgresql/<version>/bin holds initdb, pg_ctl and postgres");
            pg = TestingPostgres.start();
        } else if (server == Server.EMBEDDED_17) {
            // copied next to the module's build by maven-dependency-plugin; every zonky jar has the
            // same resource name, so this version comes by path rather than from the classpath
            String jar = System.getProperty("ferry.pg17.jar", "");
            Assumptions.assumeTrue(!jar.isEmpty() && Files.isRegularFile(Paths.get(jar)),
                    "the PostgreSQL 17 bundle jar (ferry.pg17.jar) is not there");
            pg = TestingPostgres.builder().bundleJar(Paths.get(jar)).start();
        } else {
            Assumptions.assumeTrue(TestingPostgres.class.getResource("/postgres-linux-x86_64.txz") != null,
                    "the embedded PostgreSQL bundle (io.zonky.test.postgres) is not on the classpath");
            pg = TestingPostgres.builder().embeddedBundle().start();
        }
        SERVERS.put(server, pg);
        String version = queryOne(pg, "SHOW server_version");
        VERSIONS.put(server, version);
        System.out.println("VersionMatrixIT: " + server + " is PostgreSQL " + version);
        return pg;
    }

    private static boolean localBinariesExist() {
        String env = System.getenv("FERRY_PG_BIN");
        if (env != null && !env.isBlank()) {
            return hasBinaries(Paths.get(env));
        }
        Path root = Paths.get("/usr/lib/postgresql");
        if (!Files.isDirectory(root)) {
            return false;
        }
        try (Stream<Path> versions = Files.list(root)) {
            return versions.anyMatch(v -> v.getFileName().toString().matches("\\d+") && hasBinaries(v.resolve("bin")));
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static boolean hasBinaries(Path bin) {
        return Stream.of("initdb", "pg_ctl", "postgres").allMatch(n -> Files.isExecutable(bin.resolve(n)));
    }

    private static String queryOne(TestingPostgres pg, String sql) {
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String newDatabase(TestingPostgres pg, String... ddl) {
        String db = "matrix" + DATABASES.incrementAndGet();
        pg.createDatabase(db);
        pg.execute(db, ddl);
        return db;
    }

    /** A batch run into the sink; returns the events it delivered in this run. */
    private List<ChangeEvent> runOnce(TestingPostgres pg, String db, CollectingSink sink) throws Exception {
        int before = sink.events.size();
        String yaml = "type: postgres\nhost: " + pg.host() + "\nport: " + pg.port() + "\ndatabase: " + db
                + "\nuser: " + pg.user() + "\npassword: '" + pg.password() + "'\n";
        ComponentConfig config = ComponentConfig.ofYaml("source", yaml);
        config.rejectUnknownKeys(factory.settings());
        try (Source source = factory.create(db, config);
             FileLog log = FileLog.open(state.resolve(db), factory.positionCodec())) {
            new Pipeline(db, source, log, List.of(sink), List.of("collect"), 1000).run(Mode.ONCE);
        }
        return List.copyOf(sink.events.subList(before, sink.events.size()));
    }

    private static List<Object> values(ChangeEvent e) {
        Object[] out = new Object[e.after().size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = e.after().get(i);
        }
        return Arrays.asList(out);
    }

    private static Map<String, Object> withoutId(ChangeEvent e) {
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < e.schema().size(); i++) {
            Object v = e.after().get(i);
            m.put(e.schema().column(i).name(), v instanceof byte[] bytes ? HexFormat.of().formatHex(bytes) : v);
        }
        m.remove("id");
        return m;
    }
}
