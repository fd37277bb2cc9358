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
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What goes into a publication, and what a logical decoding message may make Ferry do: forged
 * markers are ignored or only re-copy captured tables; unlogged tables, inheritance children and
 * tables whose identity PostgreSQL cannot use are never published.
 */
class PublicationEdgesIT extends PrivatePostgresTest {
    private final PostgresSourceFactory factory = new PostgresSourceFactory();

    @TempDir
    Path dir;

    @Test
    void forgedMarkersNeitherStopThePipelineNorAddTables() throws Exception {
        pg.createDatabase("forged");
        pg.execute("forged", "CREATE TABLE a (id int PRIMARY KEY)", "CREATE TABLE secret (id int PRIMARY KEY, s text)",
                "INSERT INTO a SELECT generate_series(1, 5)", "INSERT INTO secret VALUES (1, 'do not copy')");
        CollectingSink sink = new CollectingSink();
        assertThat(runOnce("forged", "tables: [public.a]\n", sink)).hasSize(5);

        long secretOid = oid("forged", "secret");
        long aOid = oid("forged", "a");
        pg.execute("forged", "SELECT pg_logical_emit_message(true, 'ferry:ferry_forged', 'add-tables x 1,abc')",
                "SELECT pg_logical_emit_message(true, 'ferry:ferry_forged', 'add-tables y " + secretOid + "')",
                "SELECT pg_logical_emit_message(true, 'ferry:ferry_forged', 'garbage')",
                "SELECT pg_logical_emit_message(true, 'ferry:ferry_forged', 'add-tables z " + aOid + "')",
                "INSERT INTO a VALUES (6)");
        List<ChangeEvent> next = runOnce("forged", "tables: [public.a]\n", sink);
        assertThat(next).allMatch(e -> e.table().name().equals("a"));
        assertThat(next).filteredOn(e -> e.op() == Op.CREATE).hasSize(1);
        assertThat(next).filteredOn(e -> e.op() == Op.READ).as("a marker may only have a captured table copied again")
                .hasSize(6);
        assertThat(published("forged")).containsExactly("a");
    }

    @Test
    void unloggedTablesAndInheritanceChildrenStayOutAndABrokenIdentityIsReported() throws Exception {
        pg.createDatabase("edges");
        pg.execute("edges", "CREATE TABLE parent (id int PRIMARY KEY, v text)",
                "CREATE TABLE child (extra int) INHERITS (parent)", "ALTER TABLE child ADD PRIMARY KEY (id)",
                "INSERT INTO parent VALUES (1, 'parent row')", "INSERT INTO child VALUES (2, 'child row', 0)",
                "CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY)",
                "CREATE TABLE coded (id int PRIMARY KEY, code text NOT NULL)", "CREATE UNIQUE INDEX coded_code ON coded (code)",
                "ALTER TABLE coded REPLICA IDENTITY USING INDEX coded_code", "DROP INDEX coded_code");
        try (Source source = source("edges", "tables: [public.parent, public.coded]\n")) {
            assertThat(source.check()).anySatisfy(c -> {
                assertThat(c.subject()).isEqualTo("table public.coded");
                assertThat(c.status()).isEqualTo(Check.Status.PROBLEM);
                assertThat(c.detail()).contains("no usable replica identity");
            });
        }
        assertThatThrownBy(() -> runOnce("edges", "tables: [public.scratch]\n", new CollectingSink()))
                .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PREREQUISITE))
                .hasMessageContaining("UNLOGGED").hasMessageContaining("SET LOGGED");

        CollectingSink sink = new CollectingSink();
        List<ChangeEvent> snapshot = runOnce("edges", "", sink);
        assertThat(snapshot).extracting(e -> e.table().name() + ":" + e.after().get(0))
                .as("the parent without its child's rows (the child is a table of its own); no unlogged or broken table")
                .containsExactlyInAnyOrder("parent:1", "child:2");
        assertThat(published("edges")).containsExactlyInAnyOrder("parent", "child");
        pg.execute("edges", "INSERT INTO scratch VALUES (1)", "UPDATE coded SET code = code",
                "INSERT INTO child VALUES (3, 'child row', 0)", "CREATE UNLOGGED TABLE later_scratch (id int PRIMARY KEY)");
        List<ChangeEvent> stream = runOnce("edges", "", sink);
        assertThat(stream).extracting(e -> e.table().name() + ":" + e.after().get(0)).containsExactly("child:3");
    }

    private Source source(String db, String extra) throws FerryException {
        String yaml = "type: postgres\nport: " + pg.port() + "\ndatabase: " + db + "\nuser: " + pg.user()
                + "\npassword: '" + pg.password() + "'\nnew_tables_check_seconds: 1\n" + extra;
        return factory.create(db, ComponentConfig.ofYaml("source", yaml));
    }

    private List<ChangeEvent> runOnce(String db, String extra, CollectingSink sink) throws Exception {
        int before = sink.events.size();
        try (Source source = source(db, extra); FileLog log = FileLog.open(dir.resolve(db), factory.positionCodec())) {
            new Pipeline(db, source, log, List.of(sink), List.of("c"), 1000).run(Mode.ONCE);
        }
        return List.copyOf(sink.events.subList(before, sink.events.size()));
    }

    private static long oid(String db, String table) throws Exception {
        try (Connection c = pg.connect(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT '" + table + "'::regclass::oid")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static List<String> published(String db) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = pg.connect(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT tablename FROM pg_publication_tables WHERE pubname = 'ferry_" + db + "'")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
