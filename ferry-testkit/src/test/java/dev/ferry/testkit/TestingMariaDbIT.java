package dev.ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

class TestingMariaDbIT {

    @Test
    void startsABinlogReadyServerThatEnforcesGrantsAndSurvivesRestarts() throws Exception {
        Path base;
        try (TestingMariaDb db = TestingMariaDb.start()) {
            base = db.baseDir();
            assertThat(db.host()).isEqualTo("127.0.0.1");
            assertThat(query(db, "SELECT @@log_bin")).isEqualTo("1");
            assertThat(query(db, "SELECT @@binlog_format")).isEqualTo("ROW");
            assertThat(query(db, "SELECT @@binlog_row_image")).isEqualTo("FULL");
            assertThat(query(db, "SELECT @@binlog_row_metadata")).isEqualTo("FULL");

            db.createDatabase("Shop");
            db.execute("Shop", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)");
            TestingMariaDb.User capture = db.grantCapture();
            try (Connection c = db.connect("Shop", capture.name(), capture.password()); Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM t")) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(1);
                }
                // grants are enforced: the capture user may read but not write
                assertThatThrownBy(() -> s.execute("INSERT INTO t VALUES (2)")).isInstanceOf(SQLException.class)
                        .hasMessageContaining("denied");
            }
            assertThatThrownBy(() -> db.connect("Shop", capture.name(), "wrong").close()).isInstanceOf(SQLException.class);

            int port = db.port();
            db.restart();
            assertThat(db.port()).isEqualTo(port);
            assertThat(query(db, "SELECT count(*) FROM Shop.t")).isEqualTo("1");
            db.killAndRestart();
            assertThat(query(db, "SELECT count(*) FROM Shop.t")).isEqualTo("1");
        }
        assertThat(base).doesNotExist();
    }

    @Test
    void optionsOverrideTheDefaults() throws Exception {
        try (TestingMariaDb db = TestingMariaDb.builder().option("binlog_format", "STATEMENT").option("log-bin", null)
                .start()) {
            assertThat(query(db, "SELECT @@log_bin")).isEqualTo("0");
            assertThat(query(db, "SELECT @@binlog_format")).isEqualTo("STATEMENT");
        }
    }

    private static String query(TestingMariaDb db, String sql) throws SQLException {
        try (Connection c = db.connect(""); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
