package dev.ferry.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.testkit.PrivateMariaDbTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingMariaDb;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.source.Source;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JDBC source against a private MariaDB, as a user with SELECT only. */
class JdbcMariaDbIT extends PrivateMariaDbTest {

    private String yaml(String database, String tables) {
        TestingMariaDb.User reader = mariadb.createUser("reader", "SELECT");
        return "type: jdbc\nurl: " + mariadb.jdbcUrl(database) + "\nuser: " + reader.name() + "\npassword: '"
                + reader.password() + "'\nchunk_rows: 2\ntables:\n" + tables;
    }

    @Test
    void fullAndIncrementalRunsFindTheRowOfALongTransactionByTheLookBack(@TempDir Path dir) throws Exception {
        mariadb.createDatabase("shop");
        mariadb.execute("shop",
                "CREATE TABLE customers (id int PRIMARY KEY, name varchar(20))",
                "CREATE TABLE orders (id bigint AUTO_INCREMENT PRIMARY KEY, note varchar(20), amount decimal(8,2))",
                "CREATE TABLE items (sku varchar(10), shop int, updated_at datetime(6) NOT NULL, PRIMARY KEY (sku, shop))",
                "INSERT INTO customers VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')",
                "INSERT INTO orders (note, amount) VALUES ('o1', 1.5), ('o2', 2.5), ('o3', 3.5)",
                "INSERT INTO items VALUES ('a', 1, '2026-11-30 10:00:00.5'), ('a', 2, '2026-11-30 10:00:00.5'), "
                        + "('b', 1, '2026-11-30 10:00:01'), ('c', 1, '2026-11-30 10:00:01')");
        JdbcPipelines p = new JdbcPipelines(yaml("shop", "  - customers\n"
                + "  - {table: orders, mode: incremental, cursor: id, lookback: 100}\n"
                + "  - {table: items, mode: incremental, cursor: updated_at, lookback: 1h}\n"), dir);
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("customers")).extracting(e -> e.path("op").asText()).containsExactly("t", "r", "r", "r");
        assertThat(p.envelopes("orders")).hasSize(3);
        assertThat(p.envelopes("items")).hasSize(4);

        try (Connection longTx = mariadb.connect("shop")) {
            longTx.setAutoCommit(false);
            try (Statement s = longTx.createStatement()) {
                s.execute("INSERT INTO orders (note, amount) VALUES ('late', 4.5)"); // takes id 4, commits last
            }
            mariadb.execute("shop", "INSERT INTO orders (note, amount) VALUES ('early', 5.5)",
                    "UPDATE items SET updated_at = '2026-11-30 11:00:00' WHERE sku = 'b'",
                    "INSERT INTO items VALUES ('a', 3, '2026-11-30 10:00:00.5')"); // an earlier cursor, committed late
            assertThat(p.runOnce()).isTrue();
            longTx.commit();
        }
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("orders")).extracting(e -> e.path("after").path("note").asText())
                .containsExactly("o1", "o2", "o3", "early", "late");
        assertThat(p.envelopes("items")).extracting(e -> e.path("after").path("sku").asText() + e.path("after").path("shop"))
                .containsExactly("a1", "a2", "b1", "c1", "a3", "b1");
        assertThat(p.envelopes("items").get(0).path("after").path("updated_at").asText()).isEqualTo("2026-11-30T10:00:00.5");
        try (Connection c = mariadb.connect("shop")) {
            ReplayVerifier.Result replay = ReplayVerifier.verify(p.out(), c, List.of("shop.customers", "shop.orders",
                    "shop.items"));
            assertThat(replay.ok()).as(replay.toString()).isTrue();
        }
    }

    @Test
    void aChunkQueryPastTheStatementTimeoutIsARetriedConnectivityFailure(@TempDir Path dir) throws Exception {
        mariadb.createDatabase("slow");
        mariadb.execute("slow", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)",
                "CREATE VIEW crawl AS SELECT id, SLEEP(3) AS s FROM t"); // each row takes 3 s to read
        JdbcPipelines p = new JdbcPipelines(yaml("slow", "  - {table: crawl, key: [id]}\n")
                .replace("chunk_rows: 2", "statement_timeout_seconds: 1"), dir);
        try (Source source = p.source()) {
            source.workFolder(dir);
            source.start(Optional.empty(), false);
            // MariaDB cancels the chunk query with SQL state 70100 (max_statement_time): retried, as a timeout
            assertThatThrownBy(() -> {
                for (int i = 0; i < 10; i++) {
                    source.poll(Duration.ofSeconds(1));
                }
            }).isInstanceOfSatisfying(FerryException.class, e -> {
                assertThat(e.kind()).isEqualTo(ErrorKind.CONNECTIVITY);
                assertThat(e.getMessage()).contains("statement_timeout_seconds");
            });
        }
    }

    @Test
    void readersReadAFullTablesKeyRangesAtOnceAndDeliverEveryRowOnceInKeyOrder(@TempDir Path dir) throws Exception {
        mariadb.createDatabase("ranges");
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            rows.append(i == 0 ? "" : ", ").append("('sku").append(i % 101).append("', ").append(i).append(", NOW(6))");
        }
        mariadb.execute("ranges", "CREATE TABLE levels (sku varchar(20), site int, updated_at timestamp(6) NOT NULL, "
                + "PRIMARY KEY (sku, site))", "INSERT INTO levels VALUES " + rows);
        JdbcPipelines p = new JdbcPipelines(yaml("ranges", "  - levels\n")
                .replace("chunk_rows: 2", "chunk_rows: 100\nreaders: 3"), dir);
        assertThat(p.runOnce()).isTrue();
        List<String> expected = new ArrayList<>();
        try (Connection c = mariadb.connect("ranges"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT CONCAT(sku, '/', site) FROM levels ORDER BY sku, site")) {
            while (rs.next()) {
                expected.add(rs.getString(1));
            }
        }
        List<JsonNode> read = p.envelopes("levels");
        assertThat(read.subList(1, read.size())).extracting(e -> e.path("after").path("sku").asText() + "/"
                + e.path("after").path("site").asInt()).isEqualTo(expected);
        try (Connection c = mariadb.connect("ranges")) {
            ReplayVerifier.Result replay = ReplayVerifier.verify(p.out(), c, List.of("ranges.levels"));
            assertThat(replay.ok()).as(replay.toString()).isTrue();
        }
    }

    @Test
    void deletesOfATableWithACompositeTextKeyAreFoundByKeyComparison(@TempDir Path dir) throws Exception {
        mariadb.createDatabase("stock");
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            rows.append(i == 0 ? "" : ", ").append("('sku").append(i).append("', ").append(i % 3).append(", NOW(6))");
        }
        mariadb.execute("stock", "CREATE TABLE levels (sku varchar(20), site int, updated_at datetime(6) NOT NULL, "
                + "PRIMARY KEY (sku, site))", "INSERT INTO levels VALUES " + rows);
        JdbcPipelines p = new JdbcPipelines(yaml("stock", "  - {table: levels, mode: incremental, cursor: updated_at, "
                + "lookback: 1m, deletes: key_compare}\n").replace("chunk_rows: 2", "chunk_rows: 50"), dir);
        assertThat(p.runOnce()).isTrue();
        mariadb.execute("stock", "DELETE FROM levels WHERE sku IN ('sku7', 'sku150', 'sku299')");
        assertThat(p.runOnce()).isTrue();
        assertThat(p.envelopes("levels")).filteredOn(e -> e.path("op").asText().equals("d"))
                .extracting(e -> e.path("before").path("sku").asText() + "/" + e.path("before").path("site").asInt())
                .containsExactlyInAnyOrder("sku7/1", "sku150/0", "sku299/2");
        try (Connection c = mariadb.connect("stock")) {
            ReplayVerifier.Result replay = ReplayVerifier.verify(p.out(), c, List.of("stock.levels"));
            assertThat(replay.ok()).as(replay.toString()).isTrue();
        }
    }
}
