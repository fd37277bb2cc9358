package dev.ferry.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.source.Position;
import dev.ferry.source.Source;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JDBC source reading an SQLite file, whose timestamps are text. */
class JdbcSqliteIT {

    private static void execute(Path db, String... sql) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
            for (String each : sql) {
                s.execute(each);
            }
        }
    }

    @Test
    void fullAndIncrementalRunsOverTextTimestamps(@TempDir Path dir) throws Exception {
        Path db = dir.resolve("shop.db");
        execute(db, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)",
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, updated_at TEXT NOT NULL)",
                "INSERT INTO customers VALUES (1, 'ann'), (2, 'bob')",
                "INSERT INTO orders VALUES (1, 1.5, '2026-11-30 10:00:00'), (2, 2.5, '2026-11-30 10:05:00'), "
                        + "(3, 3.5, '2026-11-30 10:10:00')");
        JdbcPipelines p = new JdbcPipelines("type: jdbc\nurl: jdbc:sqlite:" + db + "\nchunk_rows: 2\ntables:\n"
                + "  - customers\n  - {table: orders, mode: incremental, cursor: updated_at, lookback: 30m}\n",
                dir.resolve("pipeline"));
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("customers")).extracting(e -> e.path("op").asText()).containsExactly("t", "r", "r");
        assertThat(p.envelopes("orders")).hasSize(3);
        assertThat(p.envelopes("orders").get(0).path("source").path("schema").asText()).isEqualTo("main");

        // a row that arrives with a cursor before the last mark, inside the look-back; and an update
        execute(db, "INSERT INTO orders VALUES (4, 4.5, '2026-11-30 09:50:00')",
                "UPDATE orders SET amount = 9, updated_at = '2026-11-30 10:20:00' WHERE id = 1",
                "DELETE FROM customers WHERE id = 2");
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("orders")).extracting(e -> e.path("after").path("id").asInt()).containsExactly(1, 2, 3, 4, 1);
        assertThat(p.applied("orders", "id").get("1")).contains("\"amount\":9.0");
        assertThat(p.applied("customers", "id").keySet()).containsExactly("1");

        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("orders")).hasSize(5);
    }

    @Test
    void deletesAreFoundByKeyComparison(@TempDir Path dir) throws Exception {
        Path db = dir.resolve("notes.db");
        execute(db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, changed INTEGER NOT NULL)",
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
                        + "INSERT INTO notes SELECT i, 'note ' || i, i FROM n");
        JdbcPipelines p = new JdbcPipelines("type: jdbc\nurl: jdbc:sqlite:" + db + "\nchunk_rows: 100\ntables:\n"
                + "  - {table: notes, mode: incremental, cursor: changed, lookback: 10, deletes: key_compare}\n",
                dir.resolve("pipeline"));
        assertThat(p.runOnce()).isTrue();
        execute(db, "DELETE FROM notes WHERE id IN (1, 250, 500)", "INSERT INTO notes VALUES (501, 'new', 501)");
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("notes")).filteredOn(e -> e.path("op").asText().equals("d"))
                .extracting(e -> e.path("before").path("id").asInt()).containsExactlyInAnyOrder(1, 250, 500);
        assertThat(p.applied("notes", "id")).hasSize(498).containsKey("501").doesNotContainKey("250");
    }

    /**
     * Keys near 2^63, whose plain SUM() overflows on SQLite ("integer overflow"): the comparison sums them
     * modulo a prime. And the kept keys of the last run gone from the state folder fail the run: comparing
     * with nothing would lose the deletes.
     */
    @Test
    void deletesOfLargeKeysAreFoundAndLostKeptKeysFailTheRun(@TempDir Path dir) throws Exception {
        Path db = dir.resolve("big.db");
        execute(db, "CREATE TABLE ids (id INTEGER PRIMARY KEY, changed INTEGER NOT NULL)",
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "
                        + "INSERT INTO ids SELECT 9000000000000000000 + i, i FROM n");
        JdbcPipelines p = new JdbcPipelines("type: jdbc\nurl: jdbc:sqlite:" + db + "\ntables:\n"
                + "  - {table: ids, mode: incremental, cursor: changed, deletes: key_compare}\n", dir.resolve("pipeline"));
        assertThat(p.runOnce()).isTrue();
        execute(db, "DELETE FROM ids WHERE id = 9000000000000000150");
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("ids")).filteredOn(e -> e.path("op").asText().equals("d"))
                .extracting(e -> e.path("before").path("id").asLong()).containsExactly(9000000000000000150L);

        java.util.List<Path> keys;
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(dir.resolve("pipeline"))) {
            keys = files.filter(f -> f.getFileName().toString().endsWith(".keys")).toList();
        }
        assertThat(keys).isNotEmpty();
        for (Path k : keys) {
            java.nio.file.Files.delete(k);
        }
        assertThatThrownBy(p::runOnce).hasMessageContaining("key_compare are missing");
    }

    /**
     * Review: SQLite timestamps written the ISO way ('2026-11-30T07:00:00', as java.time and many ORMs
     * write them) against a window of part of a day: the bounds are bound as '2026-11-30 06:00:00', and
     * as text 'T' sorts after ' ', so every row of that date is past both bounds and none is selected.
     */
    @Test
    void aWindowOfPartOfADaySelectsIsoTextTimestampsInside(@TempDir Path dir) throws Exception {
        Path db = dir.resolve("iso.db");
        execute(db, "CREATE TABLE orders (id INTEGER PRIMARY KEY, updated_at TEXT NOT NULL)",
                "INSERT INTO orders VALUES (1, '2026-11-30T05:00:00'), (2, '2026-11-30T07:00:00'), (3, '2026-11-30T13:00:00')");
        JdbcPipelines p = new JdbcPipelines("type: jdbc\nurl: jdbc:sqlite:" + db + "\ntables:\n"
                + "  - {table: orders, mode: incremental, cursor: updated_at}\n", dir.resolve("pipeline"));
        dev.ferry.source.Window w = new dev.ferry.source.Window(java.time.LocalDateTime.parse("2026-11-30T06:00"),
                java.time.LocalDateTime.parse("2026-11-30T12:00"), java.time.ZoneOffset.UTC);
        assertThat(p.runOnce(w)).isTrue();
        java.util.List<String> lines;
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(p.out())) {
            lines = files.filter(f -> f.getFileName().toString().equals("data.jsonl")).flatMap(f -> {
                try {
                    return java.nio.file.Files.readAllLines(f).stream();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
        }
        assertThat(lines).hasSize(1).allSatisfy(l -> assertThat(l).contains("2026-11-30T07:00:00"));
    }

    /**
     * Review: after a --once run caught up, Pipeline polls the source once more (poll(Duration.ZERO)) and
     * appends what it returns. When interval_seconds has passed by then (1 s, or a slow final append),
     * that poll begins a whole new run: a full table's truncate and first chunk land in the Log, and the
     * command exits 0 with the sinks' copy of the table cut to that chunk.
     */
    @Test
    void theLastPollOfABatchRunBeginsNoSecondRun(@TempDir Path dir) throws Exception {
        Path db = dir.resolve("again.db");
        execute(db, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)",
                "INSERT INTO customers VALUES (1, 'ann'), (2, 'bob')");
        JdbcPipelines p = new JdbcPipelines("type: jdbc\nurl: jdbc:sqlite:" + db + "\ninterval_seconds: 1\ntables: [customers]\n",
                dir.resolve("pipeline"));
        try (dev.ferry.source.Source source = p.source()) {
            source.workFolder(java.nio.file.Files.createDirectories(dir.resolve("work")));
            source.start(java.util.Optional.empty(), false);
            dev.ferry.source.Position end = source.end();
            int events = 0;
            while (!source.caughtUp(end)) {
                events += source.poll(java.time.Duration.ofMillis(100)).events().size();
            }
            assertThat(events).isEqualTo(3);
            Thread.sleep(1_100);
            assertThat(source.poll(java.time.Duration.ZERO).events()).isEmpty();
        }
    }

    /**
     * Reads are sized by the rows' width: 40 rows of 1 MB, with a key and without, come in polls of about
     * 16 MiB (the first chunk or fetch 16 rows, then about 4 MB of rows per chunk), never the 10,000 rows
     * of {@code chunk_rows}; narrow rows still fill polls of {@link JdbcSource#MAX_BATCH} from chunks of
     * {@code chunk_rows}. With fixed chunks the whole wide table came in one poll.
     */
    @Test
    void wideRowsComeInPollsOfAboutSixteenMegabytes(@TempDir Path dir) throws Exception {
        Path db = dir.resolve("wide.db");
        String forty = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) ";
        execute(db, "CREATE TABLE wide (id INTEGER PRIMARY KEY, doc TEXT)", "CREATE TABLE keyless (doc TEXT)",
                "CREATE TABLE narrow (id INTEGER PRIMARY KEY, name TEXT)",
                forty + "INSERT INTO wide SELECT i, hex(randomblob(500000)) FROM n",
                forty + "INSERT INTO keyless SELECT hex(randomblob(500000)) FROM n",
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) "
                        + "INSERT INTO narrow SELECT i, 'name ' || i FROM n");
        JdbcPipelines p = new JdbcPipelines("type: jdbc\nurl: jdbc:sqlite:" + db + "\ntables: [wide, keyless, narrow]\n",
                dir.resolve("pipeline"));
        java.util.Map<String, List<Integer>> polls = new java.util.TreeMap<>();
        try (Source source = p.source()) {
            source.workFolder(java.nio.file.Files.createDirectories(dir.resolve("work")));
            source.start(Optional.empty(), false);
            Position end = source.end();
            while (!source.caughtUp(end)) {
                java.util.Map<String, Integer> perTable = new java.util.TreeMap<>();
                for (ChangeEvent e : source.poll(Duration.ofMillis(100)).events()) {
                    perTable.merge(e.schema().table().name(), 1, Integer::sum);
                }
                perTable.forEach((table, n) -> polls.computeIfAbsent(table, t -> new ArrayList<>()).add(n));
            }
        }
        for (String table : List.of("wide", "keyless")) {
            assertThat(polls.get(table).stream().mapToInt(Integer::intValue).sum()).as(table).isEqualTo(41);
            // the truncate, 16 rows of the first chunk (16 MB, under 16 MiB) and one chunk of 4 rows
            assertThat(polls.get(table)).as(table).hasSizeGreaterThan(1).allMatch(n -> n <= 21);
        }
        assertThat(polls.get("narrow").stream().mapToInt(Integer::intValue).sum()).isEqualTo(10_001);
        assertThat(polls.get("narrow")).contains(JdbcSource.MAX_BATCH);
    }

    /**
     * Key ranges with rows appended between planning the last range and reading it: the helper "threads"
     * here run each range at once on the capture thread, and the third range's run first appends 150
     * rows. That range has no end; read with a limit, it comes back full, and planning goes on past it.
     */
    @Test
    void aLastKeyRangeThatComesBackFullIsFollowedByMoreRanges(@TempDir Path dir) throws Exception {
        Path db = dir.resolve("grow.db");
        execute(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) "
                        + "INSERT INTO t SELECT i, 'v' || i FROM n");
        JdbcPipelines p = new JdbcPipelines("type: jdbc\nurl: jdbc:sqlite:" + db + "\nchunk_rows: 100\nreaders: 2\n"
                + "tables: [t]\n", dir.resolve("pipeline"));
        AtomicInteger ranges = new AtomicInteger();
        ExecutorService helpers = new AbstractExecutorService() {
            @Override
            public void execute(Runnable range) {
                if (ranges.incrementAndGet() == 3) {
                    try {
                        JdbcSqliteIT.execute(db, "WITH RECURSIVE n(i) AS (SELECT 1001 UNION ALL SELECT i + 1 FROM n WHERE i < 1150) "
                                + "INSERT INTO t SELECT i, 'late' FROM n");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
                range.run();
            }

            @Override
            public void shutdown() {
            }

            @Override
            public List<Runnable> shutdownNow() {
                return List.of();
            }

            @Override
            public boolean isShutdown() {
                return false;
            }

            @Override
            public boolean isTerminated() {
                return false;
            }

            @Override
            public boolean awaitTermination(long timeout, TimeUnit unit) {
                return true;
            }
        };
        List<Integer> ids = new ArrayList<>();
        try (Source source = p.source()) {
            source.workFolder(dir.resolve("work"));
            source.helpers(helpers);
            Position end = source.end();
            source.start(Optional.empty(), false);
            while (!source.caughtUp(end)) {
                for (ChangeEvent e : source.poll(Duration.ofMillis(100)).events()) {
                    if (e.op() == Op.READ) {
                        ids.add(((Number) e.after().get(0)).intValue());
                    }
                }
            }
        }
        assertThat(ranges.get()).isGreaterThan(3);
        List<Integer> expected = new ArrayList<>(IntStream.rangeClosed(1, 250).boxed().toList());
        expected.addAll(IntStream.rangeClosed(1001, 1150).boxed().toList());
        assertThat(ids).isEqualTo(expected);
    }
}
