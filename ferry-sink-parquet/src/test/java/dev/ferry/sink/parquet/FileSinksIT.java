package dev.ferry.sink.parquet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.config.ComponentConfig;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.postgres.PostgresSourceFactory;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkFactory;
import dev.ferry.sink.files.CsvSinkFactory;
import dev.ferry.source.Source;
import dev.ferry.testkit.AllTypesFixture;
import dev.ferry.testkit.FileHistoryReplay;
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
 * The Parquet and CSV sinks behind one real pipeline from a private PostgreSQL: every type of the
 * PostgreSQL type table through snapshot and stream, a mixed workload (inserts, updates, deletes,
 * updates that change the key, TOAST-unchanged updates, a truncate, a column added and one dropped), then the replay check of
 * each sink's history files against the source ({@link FileHistoryReplay}), and the Parquet files
 * read back through DuckDB with their types and row counts; and the Parquet sink's mirror file,
 * compacted at every commit, compared with the source.
 */
class FileSinksIT extends PrivatePostgresTest {
    @TempDir
    Path dir;

    @Test
    void everyTypeAndAMixedWorkloadReplayEqualToTheSourceFromParquetAndCsv() throws Exception {
        pg.createDatabase("types");
        String[] fixture = AllTypesFixture.statements();
        pg.execute("types", fixture);
        runOnce(); // the snapshot: every edge value as a read
        verify(5, 5);
        List<String> stream = new ArrayList<>(List.of(
                "UPDATE alltypes SET t = 'changed', a_i4 = '{9,8}', n2 = 1.5 WHERE id = 3",
                "DELETE FROM alltypes WHERE id = 2",
                "TRUNCATE alltypes"));
        // every edge value again, streamed this time, as rows 101-104 and 5
        for (String sql : fixture) {
            if (sql.startsWith("INSERT INTO alltypes")) {
                stream.add(sql.replaceFirst("VALUES \\((\\d),", "VALUES (10$1,"));
            }
        }
        stream.addAll(List.of(
                // key changes: 104 moves to 201, then 5 takes the free key 104; the old keys must go
                "UPDATE alltypes SET id = 201 WHERE id = 104",
                "UPDATE alltypes SET id = 104, t = 'moved' WHERE id = 5",
                "UPDATE alltypes SET big = repeat(md5(id::text), 400)",
                // TOAST: big is stored out of line and not sent with these updates; the history marks it
                "UPDATE alltypes SET i4 = 42 WHERE id = 101",
                "UPDATE alltypes SET ts = 'infinity', a_t = ARRAY[NULL, 'x'], jb = 'null' WHERE id = 103",
                "UPDATE alltypes SET i4 = 43 WHERE id = 101",
                // key changes that leave big unsent: the row under the new key keeps it, along the chain
                "UPDATE alltypes SET id = 202 WHERE id = 201",
                "UPDATE alltypes SET id = 203 WHERE id = 202",
                "DELETE FROM alltypes WHERE id = 102",
                // schema evolution: a column added appears in new files, a dropped one stays out of them
                "ALTER TABLE alltypes ADD COLUMN added numeric(6,1)",
                "ALTER TABLE alltypes DROP COLUMN vc",
                "INSERT INTO alltypes (id, t, added) VALUES (301, 'late', 12.5)",
                "UPDATE alltypes SET added = 0.5 WHERE id = 104"));
        pg.execute("types", stream.toArray(String[]::new));
        runOnce(); // the stream
        verify(5, 28);
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Statement s = duck.createStatement()) {
            String files = "read_parquet('" + dir.resolve("lake/public.alltypes") + "/**/*.parquet', union_by_name = true, "
                    + "hive_partitioning = true)";
            try (ResultSet rs = s.executeQuery("SELECT count(*), count(*) FILTER (WHERE _ferry_op = 't'), "
                    + "count(*) FILTER (WHERE list_contains(_ferry_unchanged, 'big')), count(DISTINCT _ferry_offset), "
                    + "sum(added), count(*) FILTER (WHERE vc IS NOT NULL AND _ferry_offset > (SELECT min(_ferry_offset) FROM "
                    + files + " WHERE added IS NOT NULL)), typeof(any_value(n2)), typeof(any_value(tstz)), typeof(any_value(a_i8)), "
                    + "typeof(any_value(\"by\")), typeof(any_value(_ferry_date)), "
                    + "string_agg(_ferry_before_id || '>' || id, ' ' ORDER BY _ferry_offset), typeof(any_value(_ferry_before_id)) FROM "
                    + files)) {
                rs.next();
                assertThat(rs.getLong(1)).as("history rows").isEqualTo(28);
                assertThat(rs.getLong(2)).as("truncates").isEqualTo(1);
                assertThat(rs.getLong(3)).as("TOAST-unchanged updates").isEqualTo(6);
                assertThat(rs.getLong(4)).as("distinct offsets").isEqualTo(28);
                assertThat(rs.getBigDecimal(5)).as("the added column").isEqualByComparingTo("13.0");
                assertThat(rs.getLong(6)).as("the dropped column after the drop").isZero();
                assertThat(List.of(rs.getString(7), rs.getString(8), rs.getString(9), rs.getString(10), rs.getString(11)))
                        .containsExactly("DECIMAL(12,4)", "TIMESTAMP WITH TIME ZONE", "BIGINT[]", "BLOB", "DATE");
                assertThat(rs.getString(12)).as("the old keys of the key changes").isEqualTo("104>201 5>104 201>202 202>203");
                assertThat(rs.getString(13)).isEqualTo("INTEGER");
            }
        }
        // Spark reads the files: only Parquet's common types, no UUID, TIME, INTERVAL or JSON annotations
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Statement s = duck.createStatement();
             ResultSet rs = s.executeQuery("SELECT DISTINCT coalesce(converted_type, '-') || ' ' || coalesce(logical_type, '-') "
                     + "FROM parquet_schema('" + dir.resolve("lake") + "/**/*.parquet') WHERE name <> 'duckdb_schema'")) {
            List<String> annotations = new ArrayList<>();
            while (rs.next()) {
                annotations.add(rs.getString(1));
            }
            assertThat(annotations).allMatch(a -> a.matches("(- |UTF8 |INT_16 |INT_32 |INT_64 |DATE |LIST )-|DECIMAL DecimalType.*|"
                    + "TIMESTAMP_MICROS TimestampType\\(isAdjustedToUTC=[01], unit=TimeUnit\\(MILLIS=<null>, MICROS=MicroSeconds.*"),
                    "a Parquet annotation Spark reads");
            assertThat(annotations).anyMatch(a -> a.contains("isAdjustedToUTC=1")).anyMatch(a -> a.contains("isAdjustedToUTC=0"));
        }
        // a second run finds nothing new and writes no file
        runOnce();
        verify(5, 28);
    }

    /** The replay check of both sinks: {@code rows} in the source, {@code events} in each history. */
    private void verify(long rows, long events) throws Exception {
        for (FileHistoryReplay.Format format : FileHistoryReplay.Format.values()) {
            Path root = dir.resolve(format == FileHistoryReplay.Format.CSV ? "csv" : "lake");
            try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Connection source = pg.connect("types")) {
                ReplayVerifier.Result result = FileHistoryReplay.verify(duck, source, root, format, List.of("public.alltypes"));
                System.out.println("FileSinksIT " + format + ": " + result);
                assertThat(result.problems()).isEmpty();
                assertThat(result.rows()).isEqualTo(rows);
                assertThat(result.events()).isEqualTo(events);
            }
        }
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Connection source = pg.connect("types");
             java.util.stream.Stream<Path> mirrors = java.nio.file.Files.list(dir.resolve("lake/_ferry_mirror/public.alltypes"))) {
            List<Path> files = mirrors.toList();
            assertThat(files).hasSize(1);
            ReplayVerifier.Result result = FileHistoryReplay.verifyMirror(duck, source, files.get(0), "public.alltypes");
            System.out.println("FileSinksIT Parquet mirror: " + result);
            assertThat(result.problems()).isEmpty();
            assertThat(result.rows()).isEqualTo(rows);
        }
    }

    private void runOnce() throws Exception {
        PostgresSourceFactory sources = new PostgresSourceFactory();
        ComponentConfig sourceConfig = ComponentConfig.ofYaml("source", pg.sourceYaml("types"));
        List<SinkFactory> factories = List.of(new ParquetSinkFactory(), new CsvSinkFactory());
        List<String> yaml = List.of("type: parquet\npath: " + dir.resolve("lake") + "\nmirror: true\nmirror_interval_ms: 0\n",
                "type: csv\npath: " + dir.resolve("csv") + "\npartition: hour\n");
        try (Source source = sources.create("types", sourceConfig);
             FileLog log = FileLog.open(dir.resolve("state"), sources.positionCodec())) {
            List<Sink> sinks = new ArrayList<>();
            try {
                for (int i = 0; i < factories.size(); i++) {
                    ComponentConfig config = ComponentConfig.ofYaml("sink", yaml.get(i));
                    config.rejectUnknownKeys(factories.get(i).settings());
                    sinks.add(factories.get(i).create("types", config, source.info()));
                }
                new Pipeline("types", source, log, sinks, List.of("parquet", "csv"), 1000).run(Mode.ONCE);
            } finally {
                sinks.forEach(Sink::close);
            }
        }
    }
}
