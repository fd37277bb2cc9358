package dev.ferry.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.config.ComponentConfig;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.sink.Sink;
import dev.ferry.sink.files.JsonlSinkFactory;
import dev.ferry.source.Source;
import dev.ferry.source.SourceBatch;
import dev.ferry.testkit.MariaDbShopWorkload;
import dev.ferry.testkit.PrivateMariaDbTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingMariaDb;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restarts without loss or duplicates: Ferry stopped in the middle of a transaction, binlog files
 * rotated while it streams, and the MariaDB server restarted under a running stream. The replay check
 * proves each: every row equal to the source, no event twice, no index missing in a transaction.
 */
class MySqlRestartIT extends PrivateMariaDbTest {
    private static final List<String> TABLES = List.of("customers", "products", "orders");

    @TempDir
    Path dir;

    private String shop(int orders) throws Exception {
        String db = MySqlSourceIT.newDatabase("SELECT 1");
        try (Connection c = mariadb.connect(db)) {
            MariaDbShopWorkload.createSchema(c);
            new MariaDbShopWorkload(c, 1).seed(100, 20, orders);
        }
        return db;
    }

    private static void verify(String db, MySqlPipelines pipeline) throws Exception {
        try (Connection c = mariadb.connect(db)) {
            ReplayVerifier.Result result = ReplayVerifier.verify(pipeline.out(), c,
                    TABLES.stream().map(t -> db + "." + t).toList());
            assertThat(result.problems()).as(result.toString()).isEmpty();
        }
    }

    @Test
    void resumesInsideATransactionWithoutRepeatingOrLosingARow() throws Exception {
        String db = shop(1_000);
        TestingMariaDb.User user = mariadb.grantCapture();
        MySqlPipelines pipeline = new MySqlPipelines(mariadb, db, user, dir);
        assertThat(pipeline.runOnce()).isTrue();
        try (Connection c = mariadb.connect(db)) {
            new MariaDbShopWorkload(c, 2).bigTransaction(6_000);
        }
        // a run that dies after part of the transaction reached the Log
        try (Source source = pipeline.source();
             FileLog log = FileLog.open(pipeline.state(), MySqlPipelines.FACTORY.positionCodec())) {
            source.start(log.lastPosition(), false);
            long logged = 0;
            while (logged < 2_500) {
                SourceBatch batch = source.poll(Duration.ofSeconds(1));
                log.append(batch.events(), batch.position());
                logged += batch.events().size();
            }
            MySqlPosition last = (MySqlPosition) log.lastPosition().orElseThrow();
            assertThat(last.inTransaction()).as("stopped inside the transaction: " + last.display()).isTrue();
        }
        assertThat(pipeline.runOnce()).isTrue();
        List<JsonNode> inserts = pipeline.envelopes().stream().filter(e -> e.get("op").asText().equals("c")).toList();
        assertThat(inserts).hasSize(6_000);
        verify(db, pipeline);
    }

    @Test
    void streamsAcrossBinlogRotationAndAServerRestart() throws Exception {
        String db = shop(2_000);
        TestingMariaDb.User user = mariadb.grantCapture();
        MySqlPipelines pipeline = new MySqlPipelines(mariadb, db, user, dir);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (Source source = pipeline.source();
             FileLog log = FileLog.open(pipeline.state(), MySqlPipelines.FACTORY.positionCodec());
             Sink sink = new JsonlSinkFactory().create(db, ComponentConfig.ofYaml("sink", "path: " + pipeline.out()),
                     source.info())) {
            Pipeline running = new Pipeline(db, source, log, List.of(sink), List.of("jsonl"), 1000);
            Thread stream = new Thread(() -> {
                try {
                    running.run(Mode.STREAM);
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            stream.start();
            try (Connection c = mariadb.connect(db)) {
                MariaDbShopWorkload w = new MariaDbShopWorkload(c, 3);
                w.run(100);
                mariadb.execute("", "FLUSH BINARY LOGS");
                w.run(100);
                mariadb.execute("", "FLUSH BINARY LOGS");
                w.run(50);
            }
            Thread.sleep(1500);
            mariadb.restart();
            try (Connection c = mariadb.connect(db)) {
                MariaDbShopWorkload w = new MariaDbShopWorkload(c, 4);
                w.run(100);
                w.bigTransaction(3_000);
            }
            mariadb.killAndRestart(); // a crash this time
            try (Connection c = mariadb.connect(db)) {
                new MariaDbShopWorkload(c, 5).run(100);
            }
            Thread.sleep(3000);
            running.stop();
            stream.join(60_000);
            assertThat(failure.get()).isNull();
        }
        // whatever the stream had not delivered yet, a batch run finishes
        assertThat(pipeline.runOnce()).isTrue();
        verify(db, pipeline);
        assertThat(pipeline.envelopes().stream().map(e -> e.get("source").get("file").asText()).distinct().count())
                .as("events from several binlog files").isGreaterThanOrEqualTo(4);
    }
}
