package dev.ferry.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.source.Window;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.stream.Stream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JDBC source against a private PostgreSQL: full and incremental runs, late commits, soft deletes. */
class JdbcPostgresIT extends PrivatePostgresTest {

    private String yaml(String database, String tables) {
        return "type: jdbc\nurl: " + pg.jdbcUrl(database) + "\nuser: " + pg.user() + "\npassword: '" + pg.password()
                + "'\nchunk_rows: 3\ntables:\n" + tables;
    }

    @Test
    void fullTablesAreCopiedWholeAndIncrementalTablesSendOnlyWhatMoved(@TempDir Path dir) throws Exception {
        pg.createDatabase("shop1");
        pg.execute("shop1",
                "CREATE TABLE customers (id int PRIMARY KEY, name text)",
                "CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2), updated_at timestamptz NOT NULL)",
                "INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 4) g",
                "INSERT INTO orders SELECT g, g * 1.5, now() - interval '1 hour' + g * interval '1 second' "
                        + "FROM generate_series(1, 7) g");
        JdbcPipelines p = new JdbcPipelines(yaml("shop1", "  - public.customers\n"
                + "  - {table: public.orders, mode: incremental, cursor: updated_at, lookback: 5m}\n"), dir);
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("customers")).extracting(e -> e.path("op").asText()).containsExactly("t", "r", "r", "r", "r");
        assertThat(p.envelopes("orders")).hasSize(7);
        assertThat(p.envelopes("orders").get(0).path("after").path("amount").asText()).isEqualTo("1.50");

        pg.execute("shop1", "UPDATE orders SET amount = 99, updated_at = now() WHERE id = 2",
                "INSERT INTO orders VALUES (8, 8, now())", "INSERT INTO customers VALUES (5, 'c5')");
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("customers")).hasSize(5 + 6);
        List<JsonNode> orders = p.envelopes("orders");
        assertThat(orders).hasSize(9);
        assertThat(orders.subList(7, 9)).extracting(e -> e.path("after").path("id").asInt()).containsExactly(2, 8);

        // nothing moved: the look-back reads the last rows again but sends none of them
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("orders")).hasSize(9);
        assertThat(p.applied("orders", "id")).isEqualTo(table("shop1", "orders"));
        assertThat(p.applied("customers", "id")).isEqualTo(table("shop1", "customers"));
    }

    @Test
    void aRowCommittedLateWithAnEarlierCursorIsFoundByTheLookBack(@TempDir Path dir) throws Exception {
        pg.createDatabase("late");
        pg.execute("late", "CREATE TABLE events (id bigserial PRIMARY KEY, payload text, updated_at timestamptz NOT NULL)");
        String tables = "  - {table: events, mode: incremental, cursor: updated_at, lookback: %s}\n";
        JdbcPipelines without = new JdbcPipelines(yaml("late", tables.formatted("0")), dir.resolve("without"));
        JdbcPipelines with = new JdbcPipelines(yaml("late", tables.formatted("1m")), dir.resolve("with"));
        try (Connection longTx = pg.connect("late")) {
            longTx.setAutoCommit(false);
            try (Statement s = longTx.createStatement()) {
                // now() is the transaction's start: this row's cursor is earlier than the next one's
                s.execute("INSERT INTO events (payload, updated_at) VALUES ('late', now())");
            }
            Thread.sleep(20);
            pg.execute("late", "INSERT INTO events (payload, updated_at) VALUES ('early', now())");
            assertThat(without.runOnce()).isTrue();
            assertThat(with.runOnce()).isTrue();
            longTx.commit();
        }
        assertThat(without.runOnce()).isTrue();
        assertThat(with.runOnce()).isTrue();
        // the classic high-water mark misses the late row; the look-back does not, and sends nothing twice
        assertThat(payloads(without)).containsExactly("early");
        assertThat(payloads(with)).containsExactly("early", "late");
        assertThat(with.applied("events", "id")).isEqualTo(table("late", "events"));
        try (Connection c = pg.connect("late")) {
            assertThat(ReplayVerifier.verify(with.out(), c, List.of("public.events")).ok()).isTrue();
            assertThat(ReplayVerifier.verify(without.out(), c, List.of("public.events")).problems())
                    .singleElement().asString().contains("not in the sink");
        }
    }

    @Test
    void xminTrackingFindsALateCommitWithoutACursorColumn(@TempDir Path dir) throws Exception {
        pg.createDatabase("xmin");
        pg.execute("xmin", "CREATE TABLE notes (id int PRIMARY KEY, body text)",
                "INSERT INTO notes SELECT g, 'old ' || g FROM generate_series(1, 20) g");
        JdbcPipelines p = new JdbcPipelines(yaml("xmin", "  - {table: notes, mode: incremental, cursor: xmin}\n"), dir);
        try (Connection longTx = pg.connect("xmin")) {
            longTx.setAutoCommit(false);
            try (Statement s = longTx.createStatement()) {
                s.execute("INSERT INTO notes VALUES (100, 'late')"); // its transaction id is older than the next
            }
            pg.execute("xmin", "INSERT INTO notes VALUES (101, 'early')");
            assertThat(p.runOnce()).isTrue();
            assertThat(p.envelopes("notes")).hasSize(21);
            longTx.commit();
        }
        pg.execute("xmin", "UPDATE notes SET body = 'changed' WHERE id = 7");
        assertThat(p.runOnce()).isTrue();
        List<JsonNode> second = p.envelopes("notes").subList(21, p.envelopes("notes").size());
        // the late row and the update; the row of a transaction that ran beside the first read may come again
        assertThat(second).extracting(e -> e.path("after").path("id").asInt()).contains(100, 7).doesNotContain(1, 20);
        int afterSecond = p.envelopes("notes").size();
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("notes")).hasSize(afterSecond); // nothing changed: nothing sent
        try (Connection c = pg.connect("xmin")) {
            ReplayVerifier.Result replay = ReplayVerifier.verify(p.out(), c, List.of("public.notes"));
            assertThat(replay.ok()).as(replay.toString()).isTrue();
        }
    }

    @Test
    void aConcurrentWorkloadCommittingOutOfCursorOrderLosesNoRow(@TempDir Path dir) throws Exception {
        pg.createDatabase("busy");
        pg.execute("busy", "CREATE TABLE events (id bigserial PRIMARY KEY, payload text, updated_at timestamptz NOT NULL)");
        JdbcPipelines p = new JdbcPipelines(yaml("busy",
                "  - {table: events, mode: incremental, cursor: updated_at, lookback: 30s}\n"), dir);
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < 3; w++) {
            Thread t = new Thread(() -> {
                try (Connection c = pg.connect("busy")) {
                    c.setAutoCommit(false);
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    int n = 0;
                    while (writing.get()) {
                        try (Statement s = c.createStatement()) {
                            // now() is when the transaction began: holding it open commits rows out of cursor order
                            s.execute("INSERT INTO events (payload, updated_at) VALUES ('" + Thread.currentThread().getName()
                                    + "-" + n++ + "', now())");
                            if (random.nextInt(4) == 0) {
                                s.execute("UPDATE events SET payload = payload || '+', updated_at = now() WHERE id = "
                                        + "(SELECT max(id) / 2 + 1 FROM events)");
                            }
                            Thread.sleep(random.nextInt(4) == 0 ? random.nextInt(300) : random.nextInt(5));
                        }
                        c.commit();
                    }
                } catch (Throwable e) {
                    failed.set(e);
                }
            }, "writer" + w);
            writers.add(t);
            t.start();
        }
        int runs = 0;
        long until = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < until) {
            assertThat(p.runOnce()).isTrue();
            runs++;
        }
        writing.set(false);
        for (Thread t : writers) {
            t.join();
        }
        assertThat(failed.get()).isNull();
        assertThat(p.runOnce()).isTrue();
        Map<String, String> source = table("busy", "events");
        assertThat(runs).isGreaterThan(1);
        assertThat(source.size()).isGreaterThan(50);
        // the replay check: every row, in its last version, and no event of a run missing
        assertThat(p.applied("events", "id")).isEqualTo(source);
        try (Connection c = pg.connect("busy")) {
            ReplayVerifier.Result replay = ReplayVerifier.verify(p.out(), c, List.of("public.events"));
            assertThat(replay.ok()).as(replay.toString()).isTrue();
        }
    }

    @Test
    void aSoftDeletedRowIsSentAsADelete(@TempDir Path dir) throws Exception {
        pg.createDatabase("soft");
        pg.execute("soft", "CREATE TABLE items (id int PRIMARY KEY, name text, deleted boolean NOT NULL DEFAULT false, "
                        + "updated_at timestamptz NOT NULL DEFAULT now())",
                "INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')");
        JdbcPipelines p = new JdbcPipelines(yaml("soft", "  - {table: items, mode: incremental, cursor: updated_at, "
                + "lookback: 1m, deletes: 'soft_delete:deleted'}\n"), dir);
        assertThat(p.runOnce()).isTrue();
        pg.execute("soft", "UPDATE items SET deleted = true, updated_at = now() WHERE id = 2");
        assertThat(p.runOnce()).isTrue();
        List<JsonNode> items = p.envelopes("items");
        assertThat(items).extracting(e -> e.path("op").asText()).containsExactly("r", "r", "r", "d");
        assertThat(items.get(3).path("before").path("id").asInt()).isEqualTo(2);
        assertThat(p.applied("items", "id").keySet()).containsExactlyInAnyOrder("1", "3");
    }

    @Test
    void uuidEnumAndInetKeysPageAndCompareInTheirOwnTypes(@TempDir Path dir) throws Exception {
        pg.createDatabase("uuids");
        pg.execute("uuids", "CREATE TABLE docs (id uuid PRIMARY KEY, n int, updated_at timestamptz NOT NULL DEFAULT now())",
                "INSERT INTO docs (id, n) SELECT md5(g::text)::uuid, g FROM generate_series(1, 10) g",
                "CREATE TYPE size AS ENUM ('s', 'm', 'l')",
                "CREATE TABLE hosts (addr inet, size size, seen timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (addr, size))",
                "INSERT INTO hosts SELECT ('10.0.0.' || g)::inet, s::size, now() FROM generate_series(1, 4) g, "
                        + "unnest(array['s', 'm', 'l']) s");
        JdbcPipelines p = new JdbcPipelines(yaml("uuids", "  - {table: docs, mode: incremental, cursor: updated_at, "
                + "lookback: 1m, deletes: key_compare}\n  - {table: hosts, mode: incremental, cursor: seen, "
                + "lookback: 1m, deletes: key_compare}\n"), dir);
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("docs")).hasSize(10);
        assertThat(p.envelopes("hosts")).hasSize(12);
        pg.execute("uuids", "DELETE FROM docs WHERE n = 4", "DELETE FROM hosts WHERE addr = '10.0.0.2' AND size = 'm'");
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("hosts")).filteredOn(e -> e.path("op").asText().equals("d"))
                .extracting(e -> e.path("before").path("addr").asText() + " " + e.path("before").path("size").asText())
                .containsExactly("10.0.0.2 m");
        assertThat(p.envelopes("docs")).filteredOn(e -> e.path("op").asText().equals("d"))
                .extracting(e -> e.path("before").path("id").asText()).containsExactly("a87ff679-a2f3-e71d-9181-a67b7542122c");
        try (Connection c = pg.connect("uuids")) {
            ReplayVerifier.Result replay = ReplayVerifier.verify(p.out(), c, List.of("public.docs", "public.hosts"));
            assertThat(replay.ok()).as(replay.toString()).isTrue();
        }
    }

    @Test
    void reRunningAWindowReplacesExactlyItsPartitionByteForByte(@TempDir Path dir) throws Exception {
        pg.createDatabase("windows");
        pg.execute("windows",
                "CREATE TABLE customers (id int PRIMARY KEY, name text)",
                "CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2), updated_at timestamp NOT NULL)",
                "INSERT INTO customers VALUES (1, 'ann'), (2, 'bob')",
                "INSERT INTO orders SELECT g, g, timestamp '2026-11-29 00:00' + g * interval '1 hour' "
                        + "FROM generate_series(1, 70) g");
        JdbcPipelines p = new JdbcPipelines(yaml("windows", "  - customers\n"
                + "  - {table: orders, mode: incremental, cursor: updated_at}\n"), dir);
        Window day = Window.day(LocalDate.parse("2026-11-30"), ZoneOffset.UTC);
        assertThat(p.runOnce(day)).isTrue();
        Path orders = p.out().resolve("public.orders/window=2026-11-30/data.jsonl");
        Path customers = p.out().resolve("public.customers/window=2026-11-30/data.jsonl");
        String first = sha256(orders);
        String firstCustomers = sha256(customers);
        assertThat(Files.readAllLines(orders)).hasSize(24) // hours 24..47: 2026-11-30 00:00 to 23:00
                .allSatisfy(line -> assertThat(line).contains("\"updated_at\":\"2026-11-30T"));
        assertThat(Files.readAllLines(customers)).hasSize(2);

        // changes outside the window leave it as it was; the same window again gives the same bytes
        pg.execute("windows", "UPDATE orders SET amount = 0 WHERE updated_at < '2026-11-30' OR updated_at >= '2026-12-01'");
        assertThat(p.runOnce(day)).isTrue();
        assertThat(sha256(orders)).isEqualTo(first);
        assertThat(sha256(customers)).isEqualTo(firstCustomers);
        assertThat(Files.readAllLines(orders)).hasSize(24);

        // a change inside the window: the partition is replaced, not appended to
        pg.execute("windows", "UPDATE orders SET amount = 99 WHERE id = 30");
        assertThat(p.runOnce(day)).isTrue();
        assertThat(sha256(orders)).isNotEqualTo(first);
        assertThat(Files.readAllLines(orders)).hasSize(24).filteredOn(l -> l.contains("\"amount\":\"99.00\"")).hasSize(1);

        // another window is a partition of its own; a run without a window is not partitioned
        assertThat(p.runOnce(Window.day(LocalDate.parse("2026-12-01"), ZoneOffset.UTC))).isTrue();
        assertThat(Files.readAllLines(p.out().resolve("public.orders/window=2026-12-01/data.jsonl"))).hasSize(23); // 48..70
        assertThat(p.runOnce()).isTrue();
        try (Stream<Path> files = Files.list(p.out().resolve("public.orders"))) {
            assertThat(files.filter(f -> f.toString().endsWith(".jsonl")).count()).isEqualTo(1);
        }
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    @Test
    void deletesAreFoundByComparingKeyRangesAndReadingOnlyTheRangesThatDiffer(@TempDir Path dir) throws Exception {
        pg.createDatabase("gone");
        pg.execute("gone", "CREATE TABLE accounts (id bigint PRIMARY KEY, balance int, updated_at timestamptz NOT NULL)",
                "INSERT INTO accounts SELECT g, g, now() FROM generate_series(2, 10000, 2) g"); // even ids, two blocks of kept keys
        JdbcPipelines p = new JdbcPipelines(yaml("gone", "  - {table: accounts, mode: incremental, cursor: updated_at, "
                + "lookback: 1m, deletes: key_compare}\n").replace("chunk_rows: 3", "chunk_rows: 1000"), dir);
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("accounts")).hasSize(5_000);
        // scattered deletes; the tail; and a range where a delete and an insert keep the row count (the key sum tells)
        pg.execute("gone", "DELETE FROM accounts WHERE id IN (18, 4242, 4244, 9000)",
                "DELETE FROM accounts WHERE id > 9980",
                "DELETE FROM accounts WHERE id = 6000", "INSERT INTO accounts VALUES (6001, 0, now())",
                "UPDATE accounts SET balance = -1, updated_at = now() WHERE id = 6");
        assertThat(p.runOnce()).isTrue();
        List<JsonNode> all = p.envelopes("accounts");
        List<JsonNode> second = all.subList(5_000, all.size());
        assertThat(second.stream().filter(e -> e.path("op").asText().equals("d")).map(e -> e.path("before").path("id").asLong()))
                .containsExactlyInAnyOrder(18L, 4242L, 4244L, 9000L, 6000L, 9982L, 9984L, 9986L, 9988L, 9990L,
                        9992L, 9994L, 9996L, 9998L, 10000L);
        assertThat(second.stream().filter(e -> e.path("op").asText().equals("r")).map(e -> e.path("after").path("id").asLong()))
                .containsExactlyInAnyOrder(6L, 6001L);
        try (Connection c = pg.connect("gone")) {
            ReplayVerifier.Result replay = ReplayVerifier.verify(p.out(), c, List.of("public.accounts"));
            assertThat(replay.ok()).as(replay.toString()).isTrue();
        }
        // nothing changed: no delete, no row
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("accounts")).hasSize(5_000 + second.size());
    }

    @Test
    void aRunStoppedHalfwayIsFollowedByARunThatLeavesTheSinkEqualToTheSource(@TempDir Path dir) throws Exception {
        pg.createDatabase("cut");
        pg.execute("cut", "CREATE TABLE items (id int PRIMARY KEY, name text, updated_at timestamptz NOT NULL)",
                "CREATE TABLE tags (id int PRIMARY KEY, tag text)",
                "INSERT INTO items SELECT g, 'i' || g, now() - interval '1 hour' + g * interval '1 ms' "
                        + "FROM generate_series(1, 3000) g",
                "INSERT INTO tags SELECT g, 't' || g FROM generate_series(1, 50) g");
        JdbcPipelines p = new JdbcPipelines(yaml("cut", "  - {table: items, mode: incremental, cursor: updated_at, "
                + "lookback: 1m, deletes: key_compare}\n  - tags\n").replace("chunk_rows: 3", "chunk_rows: 100")
                + "max_rows_per_second: 2000\n", dir);
        assertThat(p.runStoppedAfter(500)).isFalse();
        int delivered = p.envelopes("items").size();
        assertThat(delivered).isBetween(1, 2_999);
        pg.execute("cut", "DELETE FROM items WHERE id = 2999", "UPDATE items SET name = 'x', updated_at = now() WHERE id = 1");
        assertThat(p.runOnce()).isTrue();
        try (Connection c = pg.connect("cut")) {
            ReplayVerifier.Result replay = ReplayVerifier.verify(p.out(), c, List.of("public.items", "public.tags"));
            assertThat(replay.ok()).as(replay.toString()).isTrue();
        }
        // the cut run's rows came again in the next one (at-least-once at a cut), nothing more
        assertThat(p.envelopes("items").size() - delivered).isLessThanOrEqualTo(3_000);
        try (Stream<Path> left = Files.walk(dir.resolve("state/source"))) {
            assertThat(left.filter(f -> f.toString().endsWith(".tmp"))).isEmpty();
        }
    }

    @Test
    void readersReadAFullTablesKeyRangesAtOnceAndDeliverEveryRowOnceInKeyOrder(@TempDir Path dir) throws Exception {
        pg.createDatabase("ranges");
        pg.execute("ranges", "CREATE TABLE big (id int PRIMARY KEY, note text)",
                "INSERT INTO big SELECT g, 'n' || g FROM generate_series(1, 5000) g WHERE g % 7 <> 0",
                "CREATE TABLE lines (sku text, line int, qty int, PRIMARY KEY (sku, line))",
                "INSERT INTO lines SELECT 's' || (g % 37), g, g FROM generate_series(1, 1200) g");
        List<Integer> before = ids("ranges", "SELECT id FROM big ORDER BY id");
        JdbcPipelines p = new JdbcPipelines(yaml("ranges", "  - big\n  - lines\n")
                .replace("chunk_rows: 3", "chunk_rows: 100\nreaders: 4"), dir);
        AtomicBoolean writing = new AtomicBoolean(true);
        Thread appender = new Thread(() -> {
            // rows appended while the table is read land in its last range, which then comes back full
            for (int id = 100_000; writing.get() && id < 200_000; id += 50) {
                pg.execute("ranges", "INSERT INTO big SELECT g, 'late' FROM generate_series(" + id + ", " + (id + 49)
                        + ") g");
            }
        });
        appender.start();
        try {
            assertThat(p.runOnce()).isTrue();
        } finally {
            writing.set(false);
            appender.join();
        }
        List<JsonNode> big = p.envelopes("big");
        assertThat(big.get(0).path("op").asText()).isEqualTo("t");
        List<Integer> read = big.subList(1, big.size()).stream().map(e -> e.path("after").path("id").asInt()).toList();
        assertThat(read).doesNotHaveDuplicates().isSorted().containsAll(before);
        assertThat(read.stream().filter(id -> id < 100_000).toList()).isEqualTo(before);
        assertThat(p.envelopes("lines")).hasSize(1 + 1200)
                .extracting(e -> e.path("after").path("line").asInt(0)).doesNotHaveDuplicates();

        // once nothing changes, the copy is the table, row for row
        JdbcPipelines again = new JdbcPipelines(yaml("ranges", "  - big\n  - lines\n")
                .replace("chunk_rows: 3", "chunk_rows: 100\nreaders: 3"), dir.resolve("again"));
        assertThat(again.runOnce()).isTrue();
        List<JsonNode> lines = again.envelopes("lines");
        assertThat(lines.subList(1, lines.size())).extracting(e -> e.path("after").path("sku").asText() + "/"
                + e.path("after").path("line").asInt()).isEqualTo(column("ranges",
                "SELECT sku || '/' || line FROM lines ORDER BY sku, line"));
        try (Connection c = pg.connect("ranges")) {
            ReplayVerifier.Result replay = ReplayVerifier.verify(again.out(), c, List.of("public.big", "public.lines"));
            assertThat(replay.ok()).as(replay.toString()).isTrue();
        }
    }

    @Test
    void valuesReadAsTheDriversTextKeepTheirRepresentation(@TempDir Path dir) throws Exception {
        pg.createDatabase("vals");
        pg.execute("vals", "CREATE TABLE vals (id int PRIMARY KEY, t timestamptz, n numeric(12,3), j jsonb, u uuid, "
                        + "s text, a int[], f float8, d date, l timestamp)",
                "INSERT INTO vals SELECT g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', g, "
                        + "'{\"k\": 1}', md5(g::text)::uuid, 'x' || g, ARRAY[g], g / 2.0, NULL, NULL FROM generate_series(1, 8) g",
                "INSERT INTO vals VALUES (10, '2026-01-01 00:00:01.25+00', 12.5, '[1, \"a\"]', "
                        + "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'žluť', '{1,2}', 1.5, '2026-11-30', '2026-11-30 10:00:00.5'), "
                        + "(11, 'infinity', 'NaN', 'null', NULL, NULL, NULL, NULL, 'infinity', '-infinity'), "
                        + "(12, '2026-06-30 23:59:59.000001+02', -0.001, '{}', NULL, '', '{}', NULL, NULL, NULL)");
        for (String readers : new String[] {"1", "2"}) {
            // one row per chunk: far past the five runs after which the driver would switch to binary rows
            JdbcPipelines p = new JdbcPipelines(yaml("vals", "  - vals\n").replace("chunk_rows: 3", "chunk_rows: 1\n"
                    + "readers: " + readers), dir.resolve(readers));
            assertThat(p.runOnce()).isTrue();
            List<JsonNode> rows = p.envelopes("vals");
            assertThat(rows).hasSize(1 + 11);
            assertThat(rows.get(1).path("after").toString()).isEqualTo("{\"id\":1,\"t\":\"2026-01-01T00:00:01Z\","
                    + "\"n\":\"1.000\",\"j\":{\"k\":1},\"u\":\"c4ca4238-a0b9-2382-0dcc-509a6f75849b\",\"s\":\"x1\","
                    + "\"a\":\"{1}\",\"f\":0.5,\"d\":null,\"l\":null}");
            assertThat(rows.get(9).path("after").toString()).isEqualTo("{\"id\":10,\"t\":\"2026-01-01T00:00:01.250Z\","
                    + "\"n\":\"12.500\",\"j\":[1,\"a\"],\"u\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\","
                    + "\"s\":\"žluť\",\"a\":\"{1,2}\",\"f\":1.5,\"d\":\"2026-11-30\",\"l\":\"2026-11-30T10:00:00.5\"}");
            assertThat(rows.get(10).path("after").toString()).isEqualTo("{\"id\":11,\"t\":\"infinity\",\"n\":\"NaN\","
                    + "\"j\":null,\"u\":null,\"s\":null,\"a\":null,\"f\":null,\"d\":\"infinity\",\"l\":\"-infinity\"}");
            assertThat(rows.get(11).path("after").toString()).isEqualTo("{\"id\":12,\"t\":\"2026-06-30T21:59:59.000001Z\","
                    + "\"n\":\"-0.001\",\"j\":{},\"u\":null,\"s\":\"\",\"a\":\"{}\",\"f\":null,\"d\":null,\"l\":null}");
        }
    }

    private List<Integer> ids(String database, String sql) throws Exception {
        return column(database, sql).stream().map(Integer::valueOf).toList();
    }

    /** The first column of a query's rows, as text, in the query's order. */
    private List<String> column(String database, String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = pg.connect(database); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static List<String> payloads(JdbcPipelines p) throws Exception {
        return p.envelopes("events").stream().map(e -> e.path("after").path("payload").asText()).toList();
    }

    /** The source side of the replay check: id → the row as the JSONL sink writes it. */
    private Map<String, String> table(String database, String table) throws Exception {
        JdbcPipelines reference = new JdbcPipelines(yaml(database, "  - " + table + "\n"),
                java.nio.file.Files.createTempDirectory("ferry-reference"));
        reference.runOnce();
        Map<String, String> rows = new TreeMap<>(reference.applied(table, "id"));
        try (Connection c = pg.connect(database); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            assertThat(rows).hasSize(rs.getInt(1));
        }
        return rows;
    }
}
