package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.TableId;
import dev.ferry.testkit.TestingPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The initial copy reads each table with one COPY, open while the sinks consume it: a role's or the
 * server's statement_timeout must not cancel it when the sink is slow (found by review: the table then
 * failed with 57014 and the snapshot started over on every run).
 */
class InitialCopyTimeoutIT {
    @Test
    void aSlowSinkOutlastsTheRolesStatementTimeout() throws Exception {
        try (TestingPostgres pg = TestingPostgres.start()) {
            pg.createDatabase("st");
            pg.execute("st", "CREATE TABLE t (id int PRIMARY KEY, v text)",
                    "INSERT INTO t SELECT g, repeat('x', 1000) FROM generate_series(1, 40000) g");
            try (Connection exporter = pg.connect("st"); Connection c = pg.connect("st")) {
                exporter.setAutoCommit(false);
                exporter.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                String snap;
                try (Statement s = exporter.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_export_snapshot()")) {
                    rs.next();
                    snap = rs.getString(1);
                }
                try (Statement s = c.createStatement()) {
                    for (String sql : PostgresConnections.SESSION) {
                        s.execute(sql);
                    }
                    s.execute("SET statement_timeout = '1s'"); // as ALTER ROLE ... SET statement_timeout would
                }
                TableCopy copy = new TableCopy(c, snap, List.of(new TableId("public", "t")));
                copy.begin();
                long rows = 0;
                while (true) {
                    var batch = copy.next(1000, Long.MAX_VALUE);
                    if (batch.isEmpty()) {
                        break;
                    }
                    rows += batch.size();
                    Thread.sleep(75); // the sink is slow: 40 batches, 3 s
                }
                copy.finish();
                assertThat(rows).isEqualTo(40000);
            }
        }
    }
}
