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
        return source("shop", "ferry_min", "min-pw", "[public.orders]");
    }

    private Source source(String pipeline, String user, String password, String tables) throws FerryException {
        return factory.create(pipeline, ComponentConfig.ofYaml("source", "type: postgres\nport: " + pg.port()
                + "\ndatabase: shop\nuser: " + user + "\npassword: " + password + "\ntables: " + tables + "\n"));
    }

    private List<ChangeEvent> runOnce(CollectingSink sink) throws Exception {
        return runOnce(sink, "shop", source());
    }

    private List<ChangeEvent> runOnce(CollectingSink sink, String pipeline, Source source) throws Exception {
        int before = sink.events.size();
        try (source; FileLog log = FileLog.open(dir.resolve(pipeline), factory.positionCodec())) {
            new Pipeline(pipeline, source, log, List.of(sink), List.of("c"), 1000).run(Mode.ONCE);
        }
        return List.copyOf(sink.events.subList(before, sink.events.size()));
    }

    @Test
    void anOwnerWithoutSuperuserAddsItsNewTablesWithTheirRows() throws Exception {
        pg.execute("shop", "CREATE ROLE ferry_owner LOGIN REPLICATION PASSWORD 'own-pw'",
                "GRANT CREATE ON DATABASE shop TO ferry_owner", "GRANT CREATE ON SCHEMA public TO ferry_owner",
                "SET ROLE ferry_owner", "CREATE TABLE owned (id int PRIMARY KEY, v text)",
                "INSERT INTO owned SELECT g, 'v' || g FROM generate_series(1, 50) g");
        CollectingSink sink = new CollectingSink();
        assertThat(runOnce(sink, "owned", source("owned", "ferry_owner", "own-pw", "[public.own*]")))
                .hasSize(50).allMatch(e -> e.op() == Op.READ && e.position().snapshot());

        pg.execute("shop", "SET ROLE ferry_owner", "CREATE TABLE owned_later (id int PRIMARY KEY)",
                "INSERT INTO owned_later SELECT generate_series(1, 30)", "INSERT INTO owned VALUES (51, 'new')");
        List<ChangeEvent> next = runOnce(sink, "owned", source("owned", "ferry_owner", "own-pw", "[public.own*]"));
        assertThat(next).filteredOn(e -> e.table().name().equals("owned_later")).hasSize(30)
                .allMatch(e -> e.op() == Op.READ && !e.position().snapshot());
        assertThat(next).filteredOn(e -> e.table().name().equals("owned")).extracting(ChangeEvent::op)
                .containsExactly(Op.CREATE);
    }

    @Test
    void withoutTheRightToAlterThePublicationANewTableIsLeftToTheAdministrator() throws Exception {
        pg.execute("shop", "CREATE TABLE visible (id int PRIMARY KEY)", "GRANT SELECT ON visible TO ferry_min",
                "CREATE PUBLICATION ferry_adminpub FOR TABLE visible WITH (publish_via_partition_root = true)");
        CollectingSink sink = new CollectingSink();
        assertThat(runOnce(sink, "adminpub", source("adminpub", "ferry_min", "min-pw", "[public.vis*]"))).isEmpty();
        pg.execute("shop", "CREATE TABLE visible_later (id int PRIMARY KEY)", "GRANT SELECT ON visible_later TO ferry_min",
                "INSERT INTO visible_later VALUES (1)", "INSERT INTO visible VALUES (1)");
        // the run goes on without the table it may not add (and logs the ALTER PUBLICATION to run)
        assertThat(runOnce(sink, "adminpub", source("adminpub", "ferry_min", "min-pw", "[public.vis*]")))
                .extracting(e -> e.table().name()).containsExactly("visible");
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
                .hasMessageContaining("CREATE PUBLICATION \"ferry_shop\" FOR TABLE ONLY \"public\".\"orders\"");

        pg.execute("shop", "CREATE PUBLICATION ferry_shop FOR TABLE orders WITH (publish_via_partition_root = true)");
        CollectingSink sink = new CollectingSink();
        assertThat(runOnce(sink)).hasSize(100).allMatch(e -> e.op() == Op.READ);
        pg.execute("shop", "UPDATE orders SET amount = amount + 1 WHERE id <= 10", "INSERT INTO secrets VALUES (1, 'x')");
        assertThat(runOnce(sink)).hasSize(10).allMatch(e -> e.op() == Op.UPDATE && e.table().name().equals("orders"));
    }
}
