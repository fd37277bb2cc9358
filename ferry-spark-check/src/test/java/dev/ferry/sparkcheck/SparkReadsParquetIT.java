package dev.ferry.sparkcheck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.ferry.config.ComponentConfig;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.postgres.PostgresSourceFactory;
import dev.ferry.sink.Sink;
import dev.ferry.sink.parquet.ParquetSinkFactory;
import dev.ferry.source.Source;
import dev.ferry.testkit.AllTypesFixture;
import dev.ferry.testkit.FileHistoryReplay;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Blob;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.StructField;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Apache Spark, in local mode, reads what the Parquet sink wrote from a private PostgreSQL: every
 * type of the all-types fixture and its edge values, as a snapshot and a stream (updates, a key
 * change, deletes, TOAST-unchanged updates, a column added), into history files partitioned by day
 * and hour, and a mirror. Spark's reading of the history (with {@code mergeSchema}, the partition
 * columns from the Hive-style folders) and of the mirror is compared row by row and value by value
 * with DuckDB's reading of the same files; DuckDB's reading is itself checked against the source
 * ({@link FileHistoryReplay}), so Spark reads what PostgreSQL holds. Spark's types are checked
 * column by column against docs/sinks.md's table.
 */
class SparkReadsParquetIT extends PrivatePostgresTest {
    /** Spark 3.x refuses dates before 1582 and timestamps before 1900 of files not written by Spark, unless told. */
    private static final String REBASE = "spark.sql.parquet.datetimeRebaseModeInRead";
    private static SparkSession spark;

    @TempDir
    Path dir;

    @BeforeAll
    static void startSpark(@TempDir Path sparkDir) {
        spark = SparkSession.builder().appName("ferry-spark-check").master("local[2]")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.datetime.java8API.enabled", "true")
                .config("spark.sql.warehouse.dir", sparkDir.resolve("warehouse").toString())
                .config("spark.local.dir", sparkDir.resolve("local").toString())
                .getOrCreate();
    }

    @AfterAll
    static void stopSpark() {
        if (spark != null) {
            spark.stop();
        }
    }

    @Test
    void sparkReadsTheHistoryAndTheMirrorAsDuckDbDoesWithTheDocumentedTypes() throws Exception {
        pg.createDatabase("types");
        String[] fixture = AllTypesFixture.statements();
        pg.execute("types", fixture);
        runOnce(); // the snapshot: every edge value as a read
        List<String> stream = new ArrayList<>();
        for (String sql : fixture) { // the edge values again, streamed, as rows 101-104
            if (sql.startsWith("INSERT INTO alltypes") && !sql.endsWith("VALUES (5);")) {
                stream.add(sql.replaceFirst("VALUES \\((\\d),", "VALUES (10$1,"));
            }
        }
        stream.addAll(List.of(
                "UPDATE alltypes SET t = 'changed', a_i4 = '{9,8}', n2 = 1.5 WHERE id = 3",
                "UPDATE alltypes SET id = 201 WHERE id = 104",
                "DELETE FROM alltypes WHERE id = 2",
                "UPDATE alltypes SET big = repeat(md5(id::text), 400)",
                "UPDATE alltypes SET i4 = 42 WHERE id = 101", // big unchanged (TOAST): NULL and listed
                "ALTER TABLE alltypes ADD COLUMN added numeric(6,1)",
                "INSERT INTO alltypes (id, t, added) VALUES (301, 'late', 12.5)"));
        pg.execute("types", stream.toArray(String[]::new));
        runOnce();

        Path history = dir.resolve("lake/public.alltypes");
        Path mirror;
        try (Stream<Path> mirrors = Files.list(dir.resolve("lake/_ferry_mirror/public.alltypes"))) {
            List<Path> files = mirrors.toList();
            assertThat(files).hasSize(1);
            mirror = files.get(0);
        }
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Connection source = pg.connect("types")) {
            ReplayVerifier.Result replay = FileHistoryReplay.verify(duck, source, dir.resolve("lake"),
                    FileHistoryReplay.Format.PARQUET, List.of("public.alltypes"));
            ReplayVerifier.Result mirrored = FileHistoryReplay.verifyMirror(duck, source, mirror, "public.alltypes");
            System.out.println("SparkReadsParquetIT DuckDB vs PostgreSQL: history " + replay + "; mirror " + mirrored);
            assertThat(replay.problems()).isEmpty();
            assertThat(mirrored.problems()).isEmpty();
        }

        // Spark 3.5 with its defaults: the BC dates and year-1 timestamps of files that Spark did not write
        spark.conf().unset(REBASE);
        Throwable refused = catchThrowable(() -> spark.read().parquet(mirror.toString()).collectAsList());
        assertThat(refused).as("Spark 3's default for old dates in other writers' files").isNotNull();
        assertThat(String.valueOf(refused.getMessage()) + refused.getCause()).contains("1582-10-15");
        spark.conf().set(REBASE, "CORRECTED"); // the proleptic Gregorian calendar, which Ferry (and DuckDB) write

        Dataset<Row> sparkHistory = spark.read().option("mergeSchema", "true").parquet(history.toString());
        String duckHistory = "read_parquet('" + history + "/**/*.parquet', union_by_name = true, hive_partitioning = true)";
        int historyRows = compare("history", sparkHistory, duckHistory);
        int mirrorRows = compare("mirror", spark.read().parquet(mirror.toString()), "read_parquet('" + mirror + "')");
        // 5 reads, 4 inserts, 2 updates (one of the key), a delete, big set in the 8 rows left, 1 more update, 1 insert
        assertThat(historyRows).isEqualTo(22);
        try (Connection source = pg.connect("types"); Statement s = source.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM alltypes")) {
            rs.next();
            assertThat(mirrorRows).isEqualTo(rs.getInt(1));
        }

        Map<String, String> types = new TreeMap<>();
        for (StructField f : sparkHistory.schema().fields()) {
            types.put(f.name(), f.dataType().simpleString());
        }
        System.out.println("SparkReadsParquetIT Spark's types: " + types);
        assertThat(types).containsAllEntriesOf(expectedTypes());
        assertThat(spark.read().parquet(mirror.toString()).schema().fieldNames()).startsWith("_ferry_offset", "id")
                .contains("added").doesNotContain("_ferry_op", "_ferry_before_id");
    }

    /** The Spark type of each column, as docs/sinks.md's table "Types in Parquet and CSV" has it. */
    private static Map<String, String> expectedTypes() {
        Map<String, String> t = new LinkedHashMap<>();
        t.put("_ferry_offset", "bigint");
        t.put("_ferry_op", "string");
        t.put("_ferry_committed_at", "timestamp");
        t.put("_ferry_tx_id", "bigint");
        t.put("_ferry_unchanged", "array<string>");
        t.put("_ferry_before_id", "int");
        t.put("_ferry_date", "date");
        t.put("_ferry_hour", "int");
        t.put("id", "int");
        t.put("i2", "smallint");
        t.put("i8", "bigint");
        t.put("n", "string");
        t.put("n2", "decimal(12,4)");
        t.put("r4", "float");
        t.put("d8", "double");
        t.put("t", "string");
        t.put("by", "binary");
        t.put("b", "boolean");
        t.put("dt", "date");
        t.put("tm", "string");
        t.put("ttz", "string");
        t.put("ts", "timestamp_ntz");
        t.put("tstz", "timestamp");
        t.put("iv", "string");
        t.put("u", "string");
        t.put("jb", "string");
        t.put("a_i4", "array<int>");
        t.put("a_n", "array<string>");
        t.put("a_by", "array<binary>");
        t.put("a_dt", "array<date>");
        t.put("a_ts", "array<timestamp_ntz>");
        t.put("a_tstz", "array<timestamp>");
        t.put("added", "decimal(6,1)");
        return t;
    }

    /**
     * Compares Spark's rows with DuckDB's rows of the same files, in Log offset order, column by
     * column by name, each value by meaning ({@link #canonical}). Returns the number of rows.
     */
    private static int compare(String what, Dataset<Row> sparkRows, String duckSource) throws SQLException {
        List<StructField> fields = Arrays.asList(sparkRows.schema().fields());
        List<Row> fromSpark = sparkRows.orderBy("_ferry_offset").collectAsList();
        List<List<String>> sparkValues = new ArrayList<>();
        for (Row r : fromSpark) {
            List<String> values = new ArrayList<>();
            for (int i = 0; i < fields.size(); i++) {
                values.add(canonical(r.isNullAt(i) ? null : fields.get(i).dataType() instanceof ArrayType ? r.getList(i) : r.get(i)));
            }
            sparkValues.add(values);
        }
        List<List<String>> duckValues = new ArrayList<>();
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Statement s = duck.createStatement()) {
            s.execute("SET TimeZone = 'UTC'");
            Map<String, String> duckTypes = new LinkedHashMap<>();
            try (ResultSet rs = s.executeQuery("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM " + duckSource + ")")) {
                while (rs.next()) {
                    duckTypes.put(rs.getString(1), rs.getString(2));
                }
            }
            assertThat(duckTypes.keySet()).as(what + ": the columns Spark and DuckDB read")
                    .containsExactlyInAnyOrderElementsOf(fields.stream().map(StructField::name).toList());
            StringJoiner select = new StringJoiner(", ");
            for (StructField f : fields) {
                String q = "\"" + f.name().replace("\"", "\"\"") + "\"";
                String type = duckTypes.get(f.name());
                if (f.name().equals("_ferry_hour")) {
                    select.add("CAST(" + q + " AS INTEGER)"); // DuckDB reads the folder's "05" as text, Spark as a number
                } else if (type.startsWith("TIMESTAMP") && !type.contains("TIME ZONE")) {
                    // DuckDB's driver gives a TIMESTAMP as java.sql.Timestamp (Julian before 1582): as an instant in UTC instead
                    select.add("CAST(" + q + " AS " + type.replace("TIMESTAMP", "TIMESTAMPTZ") + ")");
                } else {
                    select.add(q);
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT " + select + " FROM " + duckSource + " ORDER BY _ferry_offset")) {
                while (rs.next()) {
                    List<String> values = new ArrayList<>();
                    for (int i = 1; i <= fields.size(); i++) {
                        values.add(canonical(rs.getObject(i)));
                    }
                    duckValues.add(values);
                }
            }
        }
        assertThat(sparkValues).as(what + ": rows").hasSameSizeAs(duckValues);
        for (int n = 0; n < duckValues.size(); n++) {
            for (int i = 0; i < fields.size(); i++) {
                assertThat(sparkValues.get(n).get(i)).as(what + " row " + n + " (_ferry_offset " + duckValues.get(n).get(0) + "), column "
                        + fields.get(i).name()).isEqualTo(duckValues.get(n).get(i));
            }
        }
        System.out.println("SparkReadsParquetIT " + what + ": " + duckValues.size() + " rows x " + fields.size()
                + " columns equal in Spark and DuckDB");
        return duckValues.size();
    }

    /**
     * A value as text that means the same whichever engine read it: instants and local date-times
     * as microseconds since the epoch, dates as days since the epoch, decimals exact with their scale,
     * bytes in hex, lists element by element.
     */
    private static String canonical(Object v) throws SQLException {
        if (v == null) {
            return "NULL";
        }
        if (v instanceof java.sql.Array a) {
            return canonical(a.getArray());
        }
        if (v instanceof Object[] array) {
            return canonical(Arrays.asList(array));
        }
        if (v instanceof List<?> list) {
            StringJoiner out = new StringJoiner(", ", "[", "]");
            for (Object e : list) {
                out.add(canonical(e));
            }
            return out.toString();
        }
        if (v instanceof Blob blob) {
            return canonical(blob.getBytes(1, (int) blob.length()));
        }
        if (v instanceof byte[] bytes) {
            return "bytes " + HexFormat.of().formatHex(bytes);
        }
        if (v instanceof BigDecimal d) {
            return "decimal " + d.toPlainString();
        }
        if (v instanceof Float f) {
            return "float " + f;
        }
        if (v instanceof Double d) {
            return "double " + d;
        }
        if (v instanceof Byte || v instanceof Short || v instanceof Integer || v instanceof Long) {
            return "integer " + ((Number) v).longValue();
        }
        if (v instanceof OffsetDateTime t) {
            return canonical(t.toInstant());
        }
        if (v instanceof LocalDateTime t) {
            return canonical(t.toInstant(ZoneOffset.UTC));
        }
        if (v instanceof Instant t) {
            // exact: DuckDB's -infinity is the least microsecond count, its seconds times a million overflow a long
            return "micros " + BigInteger.valueOf(t.getEpochSecond()).multiply(BigInteger.valueOf(1_000_000L))
                    .add(BigInteger.valueOf(t.getNano() / 1000));
        }
        if (v instanceof LocalDate d) {
            return "day " + d.toEpochDay();
        }
        if (v instanceof String || v instanceof Boolean) {
            return v.getClass().getSimpleName() + " " + v;
        }
        if (v instanceof scala.collection.Seq<?> seq) {
            return canonical(scala.jdk.javaapi.CollectionConverters.asJava(seq));
        }
        throw new AssertionError("no canonical form for a " + v.getClass().getName() + ": " + v);
    }

    /** One batch run of the pipeline into the parquet sink, partitioned by hour, with a mirror compacted at every commit. */
    private void runOnce() throws Exception {
        PostgresSourceFactory sources = new PostgresSourceFactory();
        ComponentConfig sourceConfig = ComponentConfig.ofYaml("source", pg.sourceYaml("types"));
        ParquetSinkFactory parquet = new ParquetSinkFactory();
        ComponentConfig sinkConfig = ComponentConfig.ofYaml("sink", "type: parquet\npath: " + dir.resolve("lake")
                + "\npartition: hour\nmirror: true\nmirror_interval_ms: 0\n");
        sinkConfig.rejectUnknownKeys(parquet.settings());
        try (Source source = sources.create("types", sourceConfig);
             FileLog log = FileLog.open(dir.resolve("state"), sources.positionCodec());
             Sink sink = parquet.create("types", sinkConfig, source.info())) {
            new Pipeline("types", source, log, List.of(sink), List.of("parquet"), 1000).run(Mode.ONCE);
        }
    }
}
