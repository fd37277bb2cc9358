package dev.ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.postgresql.PGProperty;

class TestingPostgresIT {

    @Test
    void startsALogicalReplicationReadyServerWithPasswordAuth() throws Exception {
        Path dataDir;
        try (TestingPostgres pg = TestingPostgres.start()) {
            dataDir = pg.dataDir();
            assertThat(pg.host()).isEqualTo("127.0.0.1");
            assertThat(pg.serverVersionNum()).isGreaterThanOrEqualTo(100000);
            assertThat(query(pg, "postgres", "SHOW wal_level")).isEqualTo("logical");

            pg.createDatabase("Shop");
            pg.execute("Shop", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)");
            assertThat(query(pg, "Shop", "SELECT count(*) FROM t")).isEqualTo("1");

            Properties wrong = new Properties();
            wrong.setProperty("user", pg.user());
            wrong.setProperty("password", pg.password() + "x");
            assertThatThrownBy(() -> DriverManager.getConnection(pg.jdbcUrl("Shop"), wrong).close())
                    .isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("28P01"));

            try (Connection replication = replicationConnection(pg, "Shop");
                    Statement statement = replication.createStatement();
                    ResultSet rs = statement.executeQuery("IDENTIFY_SYSTEM")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString("systemid")).isNotBlank();
                assertThat(rs.getString("dbname")).isEqualTo("Shop");
            }

            int port = pg.port();
            pg.restart();
            assertThat(pg.port()).isEqualTo(port);
            assertThat(query(pg, "Shop", "SELECT count(*) FROM t")).isEqualTo("1");
        }
        assertThat(dataDir).doesNotExist();
    }

    @Test
    void embeddedBundleRunsPostgres16WithPgoutput() throws Exception {
        try (TestingPostgres pg = TestingPostgres.builder().embeddedBundle().start()) {
            assertThat(query(pg, "postgres", "SELECT version()")).contains("16.4");
            assertThat(pg.serverVersionNum()).isEqualTo(160004);
            pg.createDatabase("bundle");
            pg.execute("bundle",
                    "CREATE TABLE items (id int PRIMARY KEY, name text)",
                    "CREATE PUBLICATION ferry_pub FOR TABLE items");
            assertThat(query(pg, "bundle", "SELECT lsn FROM pg_create_logical_replication_slot('s', 'pgoutput')"))
                    .matches("[0-9A-F]+/[0-9A-F]+");
            assertThat(query(pg, "bundle", "SELECT plugin FROM pg_replication_slots WHERE slot_name = 's'"))
                    .isEqualTo("pgoutput");
        }
        Path bin = PostgresBinaries.bundleCacheDir().resolve("bin");
        assertThat(Files.isExecutable(bin.resolve("postgres"))).isTrue();
        assertThat(Files.isSymbolicLink(PostgresBinaries.bundleCacheDir().resolve("lib/libpq.so.5"))).isTrue();
    }

    @Test
    void extraSettingsOverrideDefaultsAndBadOnesFailWithTheServerLog() throws Exception {
        try (TestingPostgres pg = TestingPostgres.builder().setting("wal_level", "replica").start()) {
            assertThat(query(pg, "postgres", "SHOW wal_level")).isEqualTo("replica");
        }
        assertThatThrownBy(() -> TestingPostgres.builder().setting("shared_buffers", "lots").start())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("did not start")
                .hasMessageContaining("shared_buffers");
    }

    @Test
    void grantCaptureLeavesALoginReplicationRoleWithSelectAndAPublicationItMayNotChange() throws Exception {
        try (TestingPostgres pg = TestingPostgres.start()) {
            pg.createDatabase("Shop-1");
            pg.execute("Shop-1", "CREATE TABLE orders (id int PRIMARY KEY)", "CREATE SCHEMA s",
                    "CREATE TABLE s.\"Items\" (id int PRIMARY KEY) PARTITION BY RANGE (id)",
                    "CREATE TABLE s.items_1 PARTITION OF s.\"Items\" FOR VALUES FROM (1) TO (100)");
            TestingPostgres.CaptureRole role = pg.grantCapture("Shop-1", "Shop");
            assertThat(role.user()).isEqualTo("ferry_capture_shop_1");
            assertThat(role.toString()).doesNotContain(role.password());
            assertThat(pg.grantCapture("Shop-1", "Shop")).isEqualTo(role);
            assertThat(query(pg, "Shop-1", "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY 1) "
                    + "FROM pg_publication_tables WHERE pubname = 'ferry_shop'")).isEqualTo("public.orders,s.Items");

            Properties props = new Properties();
            props.setProperty("user", role.user());
            props.setProperty("password", role.password());
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("Shop-1"), props);
                    Statement s = c.createStatement()) {
                // reading the partitioned table through its root needs SELECT on the root only
                try (ResultSet rs = s.executeQuery("SELECT rolsuper, rolreplication, "
                        + "has_database_privilege(current_database(), 'CREATE'), (SELECT count(*) FROM s.\"Items\") "
                        + "FROM pg_roles WHERE rolname = current_user")) {
                    assertThat(rs.next()).isTrue();
                    assertThat(List.of(rs.getBoolean(1), rs.getBoolean(2), rs.getBoolean(3)))
                            .containsExactly(false, true, false);
                }
                assertThatThrownBy(() -> s.execute("ALTER PUBLICATION ferry_shop DROP TABLE orders"))
                        .isInstanceOf(SQLException.class).hasMessageContaining("must be owner");
            }
        }
    }

    @Test
    void serversCopiedFromOneTemplateKeepTheirOwnPasswordsThroughACrash() throws Exception {
        try (TestingPostgres a = TestingPostgres.start(); TestingPostgres b = TestingPostgres.start()) {
            // straight after the start that set it (b's was the last), with nothing else written since
            b.crashAndRestart();
            assertThat(query(b, "postgres", "SELECT 1")).isEqualTo("1");
            assertThat(query(a, "postgres", "SELECT 1")).isEqualTo("1");
            assertThat(a.password()).isNotEqualTo(b.password());
            assertThat(TestingPostgres.secrets()).contains(a.password(), b.password());
            Properties other = new Properties();
            other.setProperty("user", b.user());
            other.setProperty("password", a.password());
            assertThatThrownBy(() -> DriverManager.getConnection(b.jdbcUrl("postgres"), other).close())
                    .isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("28P01"));
        }
    }

    @Test
    void stopIsIdempotent() {
        TestingPostgres pg = TestingPostgres.start();
        pg.stop();
        pg.stop();
        pg.close();
        assertThat(pg.dataDir()).doesNotExist();
        assertThatThrownBy(pg::restart).isInstanceOf(IllegalStateException.class);
    }

    private static Connection replicationConnection(TestingPostgres pg, String database) throws SQLException {
        Properties props = new Properties();
        PGProperty.USER.set(props, pg.user());
        PGProperty.PASSWORD.set(props, pg.password());
        PGProperty.REPLICATION.set(props, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        return DriverManager.getConnection(pg.jdbcUrl(database), props);
    }

    private static String query(TestingPostgres pg, String database, String sql) throws SQLException {
        try (Connection connection = pg.connect(database);
                Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery(sql)) {
            assertThat(rs.next()).isTrue();
            return rs.getString(1);
        }
    }
}
