package dev.ferry.sink.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.config.ComponentConfig;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.postgres.PostgresSourceFactory;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkSettings;
import dev.ferry.source.Source;
import dev.ferry.testkit.TableComparison;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

/** Test plumbing: a source database captured by the real PostgreSQL source into a warehouse database (schema {@code schema}). */
record Warehouse(TestingPostgres sourceServer, String sourceDb, TestingPostgres targetServer, String targetDb,
                 String schema, Path state) {

    String sinkYaml() {
        return "type: postgres\nhost: " + targetServer.host() + "\nport: " + targetServer.port() + "\ndatabase: "
                + targetDb + "\nuser: " + targetServer.user() + "\npassword: '" + targetServer.password() + "'\nschema: "
                + schema + "\n";
    }

    Sink sink() throws Exception {
        PostgresSinkFactory f = new PostgresSinkFactory();
        ComponentConfig config = ComponentConfig.ofYaml("sink", sinkYaml());
        config.rejectUnknownKeys(f.settings());
        return f.create(sourceDb, config, null);
    }

    /** A pipeline from the source database into the warehouse, with a commit interval of 0 unless streaming. */
    Pipeline pipeline(Source source, FileLog log, Sink sink, long commitIntervalMillis) {
        Pipeline p = new Pipeline(sourceDb, source, log, List.of(sink), List.of("postgres"), 1000);
        p.sinkSettings(List.of(new SinkSettings(commitIntervalMillis)));
        return p;
    }

    Source source() throws Exception {
        PostgresSourceFactory f = new PostgresSourceFactory();
        String yaml = "type: postgres\nhost: " + sourceServer.host() + "\nport: " + sourceServer.port() + "\ndatabase: "
                + sourceDb + "\nuser: " + sourceServer.user() + "\npassword: '" + sourceServer.password() + "'\n";
        return f.create(sourceDb, ComponentConfig.ofYaml("source", yaml));
    }

    FileLog log() throws Exception {
        return FileLog.open(state.resolve("log"), new PostgresSourceFactory().positionCodec());
    }

    /** Runs the pipeline once: catches up with the source and delivers everything. */
    void runOnce() throws Exception {
        try (Source source = source(); FileLog log = log(); Sink sink = sink()) {
            assertThat(pipeline(source, log, sink, 0).run(Mode.ONCE)).isTrue();
        }
    }

    /** Asserts the mirror of each table equals the source table, row by row. */
    void assertMirrorsEqual(String... tables) throws Exception {
        for (TableComparison.Result r : compare(tables)) {
            System.out.println("mirror check: " + r);
            assertThat(r.problems()).as(r.toString()).isEmpty();
        }
    }

    /** Waits until every mirror equals its source table (a stream catching up), then asserts it. */
    void awaitMirrorsEqual(long timeoutMillis, String... tables) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline && !compare(tables).stream().allMatch(TableComparison.Result::ok)) {
            Thread.sleep(500);
        }
        assertMirrorsEqual(tables);
    }

    private List<TableComparison.Result> compare(String... tables) throws Exception {
        List<TableComparison.Result> results = new java.util.ArrayList<>();
        try (Connection s = sourceServer.connect(sourceDb); Connection t = targetServer.connect(targetDb)) {
            for (String table : tables) {
                results.add(TableComparison.compare(s, "public." + table, t, schema + "." + table));
            }
        }
        return results;
    }

    /** The first column of the first row of a query on the warehouse. */
    String query(String sql) throws Exception {
        try (Connection t = targetServer.connect(targetDb); Statement st = t.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}
