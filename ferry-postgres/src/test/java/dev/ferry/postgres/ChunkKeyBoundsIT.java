package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.ChangeEvent;
import dev.ferry.testkit.PrivatePostgresTest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A chunk's key range is written into its COPY as literals of the keys' types
 * ({@code (keys) > (E'text'::type, ...)}): every key type's text must come back through its literal and
 * cast to bound the range exactly, neither losing nor repeating a row. And a chunk cut at its byte cap
 * (its COPY cancelled) goes on from its last row's key, as COPY wrote it.
 */
class ChunkKeyBoundsIT extends PrivatePostgresTest {
    @TempDir
    Path state;

    /** Key type, then key literals (SQL) of the rows. */
    private static final Map<String, List<String>> KEYS = new java.util.LinkedHashMap<>();

    static {
        KEYS.put("text", List.of("'a'", "' spaced '", "E'quo''te \\\\ back'", "'é ☃'", "'A'"));
        KEYS.put("bytea", List.of("'\\x00ff'", "'\\xc3'", "'\\x'", "'\\x5c78'"));
        KEYS.put("uuid", List.of("'00000000-0000-0000-0000-000000000000'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"));
        KEYS.put("numeric", List.of("'NaN'", "'1.10'", "'-0.000000000000000000001'", "'Infinity'", "'1e30'"));
        KEYS.put("double precision", List.of("'NaN'", "'0.1'", "'-1e-300'", "'Infinity'", "'1.7976931348623157e308'"));
        KEYS.put("real", List.of("'0.1'", "'1.17549435e-38'", "'3.4028235e38'"));
        KEYS.put("timestamp", List.of("'2026-11-24 12:34:56.123456'", "'0044-03-15 12:00:00 BC'", "'infinity'"));
        KEYS.put("timestamptz", List.of("'2026-11-24 12:34:56.123456+05:30'", "'0044-03-15 12:00:00+00 BC'",
                "'-infinity'", "'1900-01-01 00:00:00+00:19:32'"));
        KEYS.put("date", List.of("'2026-11-24'", "'4713-01-01 BC'", "'infinity'"));
        KEYS.put("time", List.of("'00:00:00'", "'23:59:59.999999'"));
        KEYS.put("timetz", List.of("'23:59:59.999999+15:59'", "'00:00:00-15:59'"));
        KEYS.put("interval", List.of("'-1 mon 2 days -03:00:00.5'", "'178000000 years'"));
        KEYS.put("money", List.of("'0'", "'-1234.56'"));
        KEYS.put("char(5)", List.of("'ab'", "'abcde'"));
        KEYS.put("varchar(10)", List.of("'x'", "'0123456789'"));
        // blank-padded without a length: "character" alone would be char(1), and cut every key to its first letter
        KEYS.put("bpchar", List.of("'ab'", "'abc'", "'b  x'"));
        KEYS.put("\"bit\"", List.of("B'101'", "B'11'"));
        KEYS.put("inet", List.of("'10.0.0.1'", "'10.0.0.1/8'", "'::1'"));
        KEYS.put("macaddr", List.of("'ff:ff:ff:ff:ff:ff'"));
        KEYS.put("jsonb", List.of("'{\"a\": [1, 2.50]}'", "'\"é\"'", "'1e-5'"));
        KEYS.put("integer[]", List.of("'{1,2}'", "'{}'", "'[0:1]={7,8}'"));
        KEYS.put("text[]", List.of("'{\"a,b\",NULL,\"\\\\\"}'"));
        KEYS.put("mood", List.of("'sad'", "'happy ☺'"));
        KEYS.put("boolean", List.of("true", "false"));
        KEYS.put("varbit", List.of("B'101'", "B''"));
        KEYS.put("int4range", List.of("'empty'", "'[1,5)'"));
        KEYS.put("\"char\"", List.of("'a'"));
        KEYS.put("oid", List.of("4294967295"));
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void everyKeyTypeBoundsItsChunksExactly() throws Exception {
        pg.createDatabase("bounds");
        pg.execute("bounds", "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy ☺')");
        List<String> tables = new ArrayList<>();
        Map<String, Integer> expected = new HashMap<>();
        int n = 0;
        for (Map.Entry<String, List<String>> e : KEYS.entrySet()) {
            String table = "k" + n++;
            tables.add(table);
            // a composite key too: the type's key and an integer
            pg.execute("bounds", "CREATE TABLE " + table + " (k " + e.getKey() + ", i int, pad text, PRIMARY KEY (k, i))");
            int rows = 0;
            for (String literal : e.getValue()) {
                for (int i = 0; i < 2; i++) {
                    pg.execute("bounds", "INSERT INTO " + table + " VALUES (" + literal + ", " + i + ", repeat('p', "
                            + (i == 0 ? 10 : 2_000) + "))");
                    rows++;
                }
            }
            expected.put(table, rows);
        }
        // a chunk per row: every key is the end of one range and the start of the next
        List<ChangeEvent> events = new CollectingSink().runOnce(pg, "bounds", state, "bounds",
                "snapshot: chunked\nsnapshot_chunk_rows: 1\n");
        Map<String, Integer> got = new HashMap<>();
        List<String> problems = new ArrayList<>();
        for (ChangeEvent e : events) {
            if (e.after() == null) {
                continue;
            }
            got.merge(e.schema().table().name(), 1, Integer::sum);
            Object pad = e.after().get(e.schema().indexOf("pad"));
            long i = (Long) e.after().get(e.schema().indexOf("i"));
            if (pad == null || ((String) pad).length() != (i == 0 ? 10 : 2_000)) {
                problems.add(e.schema().table().name() + " row " + e.after().get(0) + "/" + i + ": pad "
                        + (pad == null ? null : ((String) pad).length()));
            }
        }
        n = 0;
        for (String type : KEYS.keySet()) {
            String table = "k" + n++;
            if (!expected.get(table).equals(got.getOrDefault(table, 0))) {
                problems.add(table + " (" + type + "): " + got.getOrDefault(table, 0) + " rows, not " + expected.get(table));
            }
        }
        assertThat(problems).as(String.join("\n", problems)).isEmpty();
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aChunkCutAtItsByteCapGoesOnFromItsLastRowsKey() throws Exception {
        pg.createDatabase("cut");
        // 1,000 rows of 20 kB, 20 MB: the first chunk (16,384 rows asked for) is cut at 8 MiB, its COPY
        // cancelled on a connection the next chunks use again; keys that COPY escapes (a quote, backslashes, a tab)
        pg.execute("cut", "CREATE TABLE wide (k text PRIMARY KEY, n int, pad text)");
        pg.execute("cut", "INSERT INTO wide SELECT format(E'k''\\\\%s\\t☃', lpad(i::text, 5, '0')), i, repeat(md5(i::text), 625)"
                + " FROM generate_series(1, 1000) i");
        List<ChangeEvent> events = new CollectingSink().runOnce(pg, "cut", state, "cut", "snapshot: chunked\n");
        List<Long> ns = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (ChangeEvent e : events) {
            if (e.after() == null || !e.schema().table().name().equals("wide")) {
                continue;
            }
            long n = (Long) e.after().get(1);
            ns.add(n);
            String k = (String) e.after().get(0);
            if (!k.equals("k'\\" + String.format("%05d", n) + "\t☃") || ((String) e.after().get(2)).length() != 20_000) {
                problems.add("row " + n + ": key " + k);
            }
        }
        assertThat(problems).isEmpty();
        assertThat(ns).as("every row once, in key order").isEqualTo(java.util.stream.LongStream.rangeClosed(1, 1000)
                .boxed().toList());
    }
}
