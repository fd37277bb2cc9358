package dev.ferry.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.source.Check;
import dev.ferry.source.Source;
import dev.ferry.testkit.PrivateMariaDbTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingMariaDb;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MySQL source against a private MariaDB, through a real Pipeline, FileLog and JSONL sink, as a
 * user with only REPLICATION SLAVE, REPLICATION CLIENT and SELECT.
 */
class MySqlSourceIT extends PrivateMariaDbTest {
    private static final AtomicInteger DATABASES = new AtomicInteger();

    @TempDir
    Path dir;

    static String newDatabase(String... ddl) {
        String db = "db" + DATABASES.incrementAndGet();
        mariadb.createDatabase(db);
        mariadb.execute(db, ddl);
        return db;
    }

    private static List<JsonNode> of(List<JsonNode> envelopes, String table) {
        return envelopes.stream().filter(e -> e.get("source").get("table").asText().equals(table)).toList();
    }

    @Test
    void snapshotsThenStreamsTransactionsWithCommitTimeAndTruncate() throws Exception {
        String db = newDatabase("CREATE TABLE items (id int PRIMARY KEY, name varchar(40), price decimal(10,2))",
                "INSERT INTO items SELECT seq, CONCAT('item ', seq), seq * 1.5 FROM seq_1_to_5000",
                "CREATE TABLE notes (id bigint PRIMARY KEY AUTO_INCREMENT, body text)");
        TestingMariaDb.User user = mariadb.grantCapture();
        MySqlPipelines pipeline = new MySqlPipelines(mariadb, db, user, dir);

        assertThat(pipeline.runOnce()).isTrue();
        List<JsonNode> first = pipeline.envelopes();
        assertThat(first).hasSize(5000).allMatch(e -> e.get("op").asText().equals("r")
                && e.get("source").get("snapshot").asBoolean());
        assertThat(first.get(0).get("after").get("price").asText()).isEqualTo("1.50");
        assertThat(first.get(0).get("source").get("connector").asText()).isEqualTo("mysql");

        long before = System.currentTimeMillis() / 1000 * 1000;
        try (Connection c = mariadb.connect(db); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("INSERT INTO items VALUES (5001, 'new', 9.99)");
            s.execute("UPDATE items SET price = 10.00 WHERE id = 5001");
            s.execute("INSERT INTO notes (body) VALUES ('a note')");
            s.execute("DELETE FROM items WHERE id = 1");
            c.commit();
            c.setAutoCommit(true);
            s.execute("UPDATE items SET name = 'two' WHERE id = 2");
        }
        assertThat(pipeline.runOnce()).isTrue();
        List<JsonNode> all = pipeline.envelopes();
        List<JsonNode> second = of(all, "items").subList(5000, of(all, "items").size());
        assertThat(second).extracting(e -> e.get("op").asText()).containsExactly("c", "u", "d", "u");
        JsonNode insert = second.get(0);
        assertThat(insert.get("after").get("name").asText()).isEqualTo("new");
        assertThat(second.get(1).get("before").get("price").asText()).isEqualTo("9.99");
        assertThat(second.get(1).get("after").get("price").asText()).isEqualTo("10.00");
        assertThat(second.get(2).get("before").get("id").asLong()).isEqualTo(1);
        assertThat(second.get(2).get("after").isNull()).isTrue();
        // one transaction: one GTID, one start offset, rows numbered in order (the note is row 2)
        JsonNode tx = insert.get("source");
        assertThat(tx.get("gtid").asText()).matches("0-1-\\d+");
        assertThat(tx.get("txId").asLong()).isPositive();
        assertThat(List.of(second.get(1), second.get(2))).allMatch(e -> e.get("source").get("pos").equals(tx.get("pos"))
                && e.get("source").get("gtid").equals(tx.get("gtid")));
        assertThat(List.of(second.get(0), second.get(1), second.get(2))).extracting(e -> e.get("source").get("index").asInt())
                .containsExactly(0, 1, 3);
        assertThat(of(all, "notes").get(0).get("source").get("index").asInt()).isEqualTo(2);
        assertThat(second.get(3).get("source").get("gtid")).isNotEqualTo(tx.get("gtid"));
        assertThat(tx.get("ts_ms").asLong()).isBetween(before, System.currentTimeMillis());

        mariadb.execute(db, "TRUNCATE TABLE items", "INSERT INTO items VALUES (7, 'after truncate', 1.00)");
        assertThat(pipeline.runOnce()).isTrue();
        List<JsonNode> third = of(pipeline.envelopes(), "items");
        assertThat(third.subList(third.size() - 2, third.size())).extracting(e -> e.get("op").asText())
                .containsExactly("t", "c");

        int count = pipeline.envelopes().size();
        assertThat(pipeline.runOnce()).isTrue();
        assertThat(pipeline.envelopes()).as("a batch run without changes delivers nothing").hasSize(count);
        try (Connection c = mariadb.connect(db)) {
            ReplayVerifier.Result result = ReplayVerifier.verify(pipeline.out(), c, List.of(db + ".items", db + ".notes"));
            assertThat(result.problems()).isEmpty();
        }
    }

    @Test
    void aPollPastItsDeadlineTakesEveryBinlogEventTheReaderHolds() throws Exception {
        String db = newDatabase("CREATE TABLE items (id int PRIMARY KEY)", "CREATE TABLE other (id int PRIMARY KEY)");
        MySqlPipelines pipeline = new MySqlPipelines(mariadb, db, mariadb.grantCapture(), dir).with("tables: [" + db + ".items]\n");
        try (Source source = pipeline.source()) {
            source.start(java.util.Optional.empty(), false);
            for (int i = 0; i < 3; i++) {
                assertThat(source.poll(java.time.Duration.ofMillis(200)).events()).isEmpty(); // the empty snapshot
            }
            try (Connection c = mariadb.connect(db); Statement s = c.createStatement()) {
                for (int i = 0; i < 1500; i++) {
                    s.execute("INSERT INTO other VALUES (" + i + ")"); // a transaction of 5 binlog events each
                }
                s.execute("INSERT INTO items VALUES (1)");
            }
            // as the pipeline gathers: polls that do not wait, a few ms apart; each took one binlog event
            // (7,500 polls for the insert), now what the reader holds
            int polls = 0;
            List<dev.ferry.event.ChangeEvent> got = List.of();
            while (got.isEmpty() && polls < 2000) {
                Thread.sleep(5);
                got = source.poll(java.time.Duration.ZERO).events();
                polls++;
            }
            assertThat(got).hasSize(1);
            assertThat(polls).isLessThan(2000);
        }
    }

    @Test
    void checkPassesForTheLeastPrivilegedUser() throws Exception {
        String db = newDatabase("CREATE TABLE t (id int PRIMARY KEY)", "CREATE TABLE keyless (v int)");
        try (Source source = new MySqlPipelines(mariadb, db, mariadb.grantCapture(), dir).source()) {
            List<Check> checks = source.check();
            assertThat(checks).noneMatch(c -> c.status() == Check.Status.PROBLEM);
            assertThat(checks).extracting(Check::subject).contains("log_bin", "binlog_format", "binlog_row_image",
                    "binlog_row_metadata", "server_id", "privilege REPLICATION SLAVE", "privilege REPLICATION CLIENT",
                    "binlog retention", "table " + db + ".t");
            assertThat(checks).filteredOn(c -> c.subject().equals("table " + db + ".keyless"))
                    .extracting(Check::status).containsExactly(Check.Status.WARNING);
        }
    }

    @Test
    void aRowImageWithoutEveryColumnStopsTheRunInsteadOfShiftingValues() throws Exception {
        String db = newDatabase("CREATE TABLE partial (id int PRIMARY KEY, a varchar(10), b int)",
                "INSERT INTO partial VALUES (1, 'x', 1)");
        MySqlPipelines pipeline = new MySqlPipelines(mariadb, db, mariadb.grantCapture(), dir);
        assertThat(pipeline.runOnce()).isTrue();
        // one session may choose its own row image; its events then carry only some columns
        mariadb.execute(db, "SET SESSION binlog_row_image = 'MINIMAL'", "UPDATE partial SET b = 2 WHERE id = 1");
        assertThatThrownBy(pipeline::runOnce).isInstanceOfSatisfying(dev.ferry.error.FerryException.class, e -> {
            assertThat(e.kind()).isEqualTo(dev.ferry.error.ErrorKind.PREREQUISITE);
            assertThat(e.getMessage()).contains(db + ".partial").contains("binlog_row_image=FULL");
        });
    }

    @Test
    void aSnapshotKeyedByADatetimeInsideADaylightSavingGapMissesNoRow() throws Exception {
        String db = newDatabase("CREATE TABLE readings (at datetime PRIMARY KEY, v int)",
                // 02:30 on 2026-03-29 does not exist in Berlin: the clocks jump from 02:00 to 03:00
                "INSERT INTO readings VALUES ('2026-03-29 01:30:00', 1), ('2026-03-29 02:30:00', 2), "
                        + "('2026-03-29 02:45:00', 3), ('2026-03-29 03:30:00', 4)");
        java.util.TimeZone jvm = java.util.TimeZone.getDefault();
        java.util.TimeZone.setDefault(java.util.TimeZone.getTimeZone("Europe/Berlin"));
        try {
            MySqlPipelines pipeline = new MySqlPipelines(mariadb, db, mariadb.grantCapture(), dir)
                    .with("snapshot_chunk_rows: 1\n");
            assertThat(pipeline.runOnce()).isTrue();
            assertThat(pipeline.envelopes()).extracting(e -> e.get("after").get("v").asInt())
                    .as("one chunk per row, each paged from the key before it").containsExactly(1, 2, 3, 4);
        } finally {
            java.util.TimeZone.setDefault(jvm);
        }
    }
}
