package dev.ferry.cli;

import dev.ferry.testkit.TestingMariaDb;
import dev.ferry.testkit.TestingPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The tables of the large-rows ITs: {@code t} (id primary key, 1 MB of text and 256 kB of bytes a row)
 * and {@code k} (no key, 1 MB of text a row), of md5 text, which does not compress, so the rows are as
 * wide in the server's storage as on the wire.
 */
final class WideRows {
    private WideRows() {
    }

    /** Creates {@code t} with {@code rows} rows and, unless {@code keylessRows} is 0, {@code k}. */
    static void postgres(TestingPostgres pg, String db, int rows, int keylessRows) {
        List<String> sql = new ArrayList<>(List.of("CREATE TABLE t (id int PRIMARY KEY, doc text, blob bytea)",
                "INSERT INTO t SELECT g, (SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, 32768) i), "
                        + "decode((SELECT string_agg(md5(i::text || ':' || g), '') FROM generate_series(1, 16384) i), 'hex') "
                        + "FROM generate_series(1, " + rows + ") g"));
        if (keylessRows > 0) {
            sql.add("CREATE TABLE k (doc text)");
            sql.add("INSERT INTO k SELECT (SELECT string_agg(md5(g::text || '-' || i), '') FROM generate_series(1, 32768) i) "
                    + "FROM generate_series(1, " + keylessRows + ") g");
        }
        pg.execute(db, sql.toArray(new String[0]));
    }

    /** {@link #postgres} on MariaDB: {@code t} of {@code rows} rows and {@code k} of {@code keylessRows}. */
    static void mariaDb(TestingMariaDb mariadb, String db, int rows, int keylessRows) {
        List<String> sql = new ArrayList<>(List.of("CREATE TABLE t (id int PRIMARY KEY, doc longtext, data longblob)"));
        for (int i = 1; i <= rows; i++) {
            sql.add("INSERT INTO t VALUES (" + i + ", REPEAT(MD5(" + i + "), 32768), UNHEX(REPEAT(MD5(" + (i + rows)
                    + "), 16384)))");
        }
        sql.add("CREATE TABLE k (doc longtext)");
        for (int i = 1; i <= keylessRows; i++) {
            sql.add("INSERT INTO k VALUES (REPEAT(MD5(" + i + "), 32768))");
        }
        mariadb.execute(db, sql.toArray(new String[0]));
    }

    /** The read events ({@code "op":"r"}) in the JSONL files under {@code folder}. */
    static long reads(Path folder) throws IOException {
        try (Stream<Path> files = Files.walk(folder)) {
            return files.filter(f -> f.toString().endsWith(".jsonl")).mapToLong(f -> {
                try (Stream<String> lines = Files.lines(f)) {
                    return lines.filter(line -> line.contains("\"op\":\"r\"")).count();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).sum();
        }
    }
}
