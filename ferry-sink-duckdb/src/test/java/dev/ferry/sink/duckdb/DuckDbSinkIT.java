package dev.ferry.sink.duckdb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.ferry.config.ComponentConfig;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.postgres.PostgresSourceFactory;
import dev.ferry.sink.Sink;
import dev.ferry.source.Source;
import dev.ferry.testkit.AllTypesFixture;
import dev.ferry.testkit.DuckDbMirrorVerifier;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DuckDB sink behind a real pipeline from a private PostgreSQL: every type of the PostgreSQL type
 * table through snapshot and stream, a mixed workload (inserts, updates, deletes, a TOAST-unchanged
 * update, a truncate), then the replay check of the mirror against the source and of the history;
 * and a value DuckDB cannot store stopping the pipeline with a DATA error that names it.
 */
class DuckDbSinkIT extends PrivatePostgresTest {
    @TempDir
    Path dir;

    @Test
    void everyTypeAndAMixedWorkloadReplayEqualToTheSource() throws Exception {
        pg.createDatabase("types");
        String[] fixture = AllTypesFixture.statements();
        pg.execute("types", fixture);
        runOnce("types"); // the snapshot: every edge value as a read
        verify(5);
        List<String> stream = new ArrayList<>(List.of(
                "UPDATE alltypes SET t = 'changed', a_i4 = '{9,8}', n2 = 1.5 WHERE id = 3",
                "DELETE FROM alltypes WHERE id = 2",
                "TRUNCATE alltypes"));
        // every edge value again, streamed this time, as rows 101-105
        for (String sql : fixture) {
            if (sql.startsWith("INSERT INTO alltypes")) {
                stream.add(sql.replaceFirst("VALUES \\((\\d),", "VALUES (10$1,"));
            }
        }
        stream.addAll(List.of(
                "UPDATE alltypes SET big = repeat(md5(id::text), 400)",
                "INSERT INTO alltypes SELECT 200 + g, g, g, g, g * 1.5, g * 0.25, g, g, g, 'row ' || g, 'v', 'c', '\\x01', g % 2 = 0, "
                        + "'2026-11-30', '12:00', '12:00+01', '2026-11-30 12:00', '2026-11-30 12:00+00', '1 day', gen_random_uuid(), "
                        + "'{\"g\": 1}', '[1, 2]', '<g/>', '10.0.0.1', '10.0.0.0/24', '08:00:2b:01:02:03', B'0001', B'1', 'a b', "
                        + "'ok', g, ROW(g, 'x'::text)::pair, '[1,2)', '[2026-01-01,2026-02-01)', ARRAY[g], ARRAY[g::bigint], ARRAY['t'], "
                        + "ARRAY[g::numeric], ARRAY[g::float8], ARRAY[true], ARRAY['\\x02'::bytea], ARRAY['2026-01-01'::date], "
                        + "ARRAY['2026-01-01 00:00'::timestamp], ARRAY['2026-01-01 00:00+00'::timestamptz], ARRAY['01:00'::time], "
                        + "ARRAY['1 hour'::interval], ARRAY[gen_random_uuid()], ARRAY['{}'::jsonb], ARRAY['::1'::inet], "
                        + "ARRAY['ok'::mood], ARRAY['v'], repeat(md5(g::text), 400) FROM generate_series(1, 5) g",
                // TOAST: big is stored out of line and not sent with these updates; the mirror must keep it
                "UPDATE alltypes SET i4 = 42 WHERE id = 201",
                "UPDATE alltypes SET ts = 'infinity', a_t = ARRAY[NULL, 'x'], jb = 'null' WHERE id = 203",
                "UPDATE alltypes SET i4 = 43 WHERE id = 201",
                "UPDATE alltypes SET i2 = 7 WHERE id = 101",
                "DELETE FROM alltypes WHERE id IN (204, 102)",
                "INSERT INTO alltypes (id, t) VALUES (301, 'late')"));
        pg.execute("types", stream.toArray(String[]::new));
        runOnce("types"); // the stream
        verify(9);
        try (Connection duck = duck(); Statement s = duck.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FILTER (WHERE _ferry_op = 't'), "
                     + "count(*) FILTER (WHERE list_contains(_ferry_unchanged, 'big')), count(*) FROM public.alltypes__history")) {
            rs.next();
            assertThat(rs.getLong(1)).as("truncates in the history").isEqualTo(1);
            assertThat(rs.getLong(2)).as("TOAST-unchanged updates in the history").isEqualTo(4);
            assertThat(rs.getLong(3)).isEqualTo(30);
        }
        // a second run finds nothing new and leaves the history as it is
        runOnce("types");
        try (Connection duck = duck(); Statement s = duck.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM public.alltypes__history")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(30);
        }
    }

    @Test
    void aValueDuckDbCannotStoreStopsThePipelineWithADataError() throws Exception {
        pg.createDatabase("poison");
        pg.execute("poison", "CREATE TABLE events (id int PRIMARY KEY, at timestamp)",
                "INSERT INTO events VALUES (1, '2026-11-30 12:00')");
        runOnce("poison");
        // PostgreSQL's timestamps reach the year 294276; DuckDB's end in 294247
        pg.execute("poison", "INSERT INTO events VALUES (2, '2026-12-01 00:00')",
                "INSERT INTO events VALUES (3, '294276-12-31 23:59:59.999999')");
        FerryException e = catchThrowableOfType(() -> runOnce("poison"), FerryException.class);
        assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
        assertThat(e.getMessage()).contains("public.events").contains("column at").contains("294276-12-31");
        try (Connection duck = duck(); Statement s = duck.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*), count(*) FILTER (WHERE id = 3) FROM public.events")) {
            rs.next();
            // delivery finds the refused event by halving the batch: what comes before it is written, and
            // with record_errors: fail (the pipeline's default without settings) it stops at the event
            assertThat(rs.getLong(1)).as("the event before the refused one is written").isEqualTo(2);
            assertThat(rs.getLong(2)).as("the refused write was rolled back").isZero();
        }
    }

    /** The replay check: the mirror equals the source, the history holds each event once. */
    private void verify(long rows) throws Exception {
        try (Connection duck = duck(); Connection source = pg.connect("types")) {
            ReplayVerifier.Result result = DuckDbMirrorVerifier.verify(duck, source, List.of("public.alltypes"));
            System.out.println("DuckDbSinkIT: " + result);
            assertThat(result.problems()).isEmpty();
            assertThat(result.rows()).isEqualTo(rows);
        }
    }

    private Connection duck() throws Exception {
        return DriverManager.getConnection("jdbc:duckdb:" + dir.resolve("warehouse.duckdb"));
    }

    private void runOnce(String db) throws Exception {
        PostgresSourceFactory sources = new PostgresSourceFactory();
        ComponentConfig sourceConfig = ComponentConfig.ofYaml("source", pg.sourceYaml(db));
        ComponentConfig sinkConfig = ComponentConfig.ofYaml("sink", "type: duckdb\npath: " + dir.resolve("warehouse.duckdb")
                + "\nhistory: true\n");
        DuckDbSinkFactory sinks = new DuckDbSinkFactory();
        sinkConfig.rejectUnknownKeys(sinks.settings());
        try (Source source = sources.create(db, sourceConfig);
             Sink sink = sinks.create(db, sinkConfig, source.info());
             FileLog log = FileLog.open(dir.resolve("state-" + db), sources.positionCodec())) {
            new Pipeline(db, source, log, List.of(sink), List.of("duckdb"), 1000).run(Mode.ONCE);
        }
    }
}
