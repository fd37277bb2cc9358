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
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ferry as a role with only LOGIN, REPLICATION and SELECT on the captured tables, with the
 * publication created by an administrator; without it, the error names the exact statement.
 */
class LeastPrivilegeIT {
    private static TestingPostgres pg;
    private final PostgresSourceFactory factory = new PostgresSourceFactory();

    @TempDir
    Path dir;

    @BeforeAll
    static void startServer() {
        pg = TestingPostgres.start();
        pg.createDatabase("shop");
        pg.execute("shop", "CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2))",
                "CREATE TABLE secrets (id int PRIMARY KEY, s text)",
                "INSERT INTO orders SELECT g, g FROM generate_series(1, 100) g",
                "CREATE ROLE ferry_min LOGIN REPLICATION PASSWORD 'min-pw'",
                "REVOKE CREATE ON DATABASE shop FROM PUBLIC",
                "GRANT SELECT ON orders TO ferry_min");
    }

    @AfterAll
    static void stopServer() {
        pg.close();
    }

    private Source source() throws FerryException {
        return factory.create("shop", ComponentConfig.ofYaml("source", "type: postgres\nport: " + pg.port()
                + "\ndatabase: shop\nuser: ferry_min\npassword: min-pw\ntables: [public.orders]\n"));
    }

    private List<ChangeEvent> runOnce(CollectingSink sink) throws Exception {
        int before = sink.events.size();
        try (Source source = source(); FileLog log = FileLog.open(dir.resolve("state"), factory.positionCodec())) {
            new Pipeline("shop", source, log, List.of(sink), List.of("c"), 1000).run(Mode.ONCE);
        }
        return List.copyOf(sink.events.subList(before, sink.events.size()));
    }

    @Test
    void worksWithLoginReplicationAndSelectOnceTheAdministratorCreatedThePublication() throws Exception {
        try (Source source = source()) {
            List<Check> checks = source.check();
            assertThat(checks).anySatisfy(c -> {
                assertThat(c.subject()).isEqualTo("publication");
                assertThat(c.status()).isEqualTo(Check.Status.PROBLEM);
            });
        }
        assertThatThrownBy(() -> runOnce(new CollectingSink()))
                .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PREREQUISITE))
                .hasMessageContaining("may not create or extend publication ferry_shop")
                .hasMessageContaining("CREATE PUBLICATION \"ferry_shop\" FOR TABLE \"public\".\"orders\"");

        pg.execute("shop", "CREATE PUBLICATION ferry_shop FOR TABLE orders WITH (publish_via_partition_root = true)");
        CollectingSink sink = new CollectingSink();
        assertThat(runOnce(sink)).hasSize(100).allMatch(e -> e.op() == Op.READ);
        pg.execute("shop", "UPDATE orders SET amount = amount + 1 WHERE id <= 10", "INSERT INTO secrets VALUES (1, 'x')");
        assertThat(runOnce(sink)).hasSize(10).allMatch(e -> e.op() == Op.UPDATE && e.table().name().equals("orders"));
    }
}
