package dev.ferry.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.source.Check;
import dev.ferry.source.Source;
import dev.ferry.testkit.TestingMariaDb;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input: each missing prerequisite is a PROBLEM in ferry check and a clear error from a run, naming the fix. */
class MySqlPrerequisitesIT {
    @TempDir
    Path dir;

    private static Check find(List<Check> checks, String subject) {
        return checks.stream().filter(c -> c.subject().equals(subject)).findFirst().orElseThrow();
    }

    @Test
    void binlogDisabledAndStatementFormatAreProblemsWithTheirFix() throws Exception {
        try (TestingMariaDb db = TestingMariaDb.builder().option("log-bin", null).option("binlog-format", "STATEMENT")
                .start()) {
            db.createDatabase("shop");
            db.execute("shop", "CREATE TABLE t (id int PRIMARY KEY)");
            try (Source source = new MySqlPipelines(db, "shop", db.grantCapture(), dir).source()) {
                List<Check> checks = source.check();
                Check logBin = find(checks, "log_bin");
                assertThat(logBin.status()).isEqualTo(Check.Status.PROBLEM);
                assertThat(logBin.fix()).contains("log_bin=mysql-bin").contains("restart");
                Check format = find(checks, "binlog_format");
                assertThat(format.status()).isEqualTo(Check.Status.PROBLEM);
                assertThat(format.detail()).contains("STATEMENT");
                assertThat(format.fix()).contains("SET GLOBAL binlog_format = 'ROW'");
                assertThatThrownBy(() -> source.start(Optional.empty(), false)).isInstanceOf(FerryException.class)
                        .satisfies(e -> assertThat(((FerryException) e).kind()).isEqualTo(ErrorKind.PREREQUISITE))
                        .hasMessageContaining("log_bin is OFF").hasMessageContaining("my.cnf");
            }
        }
    }

    @Test
    void statementFormatWithBinlogOnStopsTheRun() throws Exception {
        try (TestingMariaDb db = TestingMariaDb.builder().option("binlog-format", "STATEMENT").start()) {
            db.createDatabase("shop");
            db.execute("shop", "CREATE TABLE t (id int PRIMARY KEY)");
            try (Source source = new MySqlPipelines(db, "shop", db.grantCapture(), dir).source()) {
                assertThat(find(source.check(), "log_bin").status()).isEqualTo(Check.Status.OK);
                assertThatThrownBy(() -> source.start(Optional.empty(), false)).isInstanceOf(FerryException.class)
                        .satisfies(e -> assertThat(((FerryException) e).kind()).isEqualTo(ErrorKind.PREREQUISITE))
                        .hasMessageContaining("binlog_format is STATEMENT, but must be ROW")
                        .hasMessageContaining("SET GLOBAL binlog_format = 'ROW'");
            }

            // missing privileges, on the same server: a user with SELECT only
            TestingMariaDb.User reader = db.createUser("reader", "SELECT");
            db.execute("", "SET GLOBAL binlog_format = 'ROW'");
            try (Source source = new MySqlPipelines(db, "shop", reader, dir).source()) {
                List<Check> checks = source.check();
                Check slave = find(checks, "privilege REPLICATION SLAVE");
                assertThat(slave.status()).isEqualTo(Check.Status.PROBLEM);
                assertThat(slave.fix()).isEqualTo("GRANT REPLICATION SLAVE ON *.* TO reader@127.0.0.1;");
                assertThat(find(checks, "privilege REPLICATION CLIENT").status()).isEqualTo(Check.Status.PROBLEM);
                assertThatThrownBy(() -> source.start(Optional.empty(), false)).isInstanceOf(FerryException.class)
                        .satisfies(e -> assertThat(((FerryException) e).kind()).isEqualTo(ErrorKind.PREREQUISITE))
                        .hasMessageContaining("privilege REPLICATION SLAVE missing")
                        .hasMessageContaining("GRANT REPLICATION SLAVE ON *.* TO reader@127.0.0.1;");
            }
        }
    }
}
