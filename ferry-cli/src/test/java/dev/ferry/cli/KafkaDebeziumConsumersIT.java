package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.testkit.PrivateKafka;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import io.debezium.transforms.ExtractNewRecordState;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Consumers written for Debezium read Ferry's topics unchanged: with {@code format: connect_json},
 * Kafka Connect's own {@link JsonConverter} (schemas enabled) parses every key and value, and
 * Debezium's own {@link ExtractNewRecordState} transform (from Maven Central's
 * {@code io.debezium:debezium-connect-plugins}) unwraps each envelope into the row; applied by key
 * (a delete rewritten by the transform removes the key), the rows equal the source tables. Then
 * {@code ferry check} and {@code ferry status} report the sink from the broker.
 */
class KafkaDebeziumConsumersIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("public.customers", "public.products", "public.transactions");
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @RegisterExtension
    static final PrivateKafka KAFKA = new PrivateKafka();

    @TempDir
    Path dir;

    @Test
    void kafkaConnectsJsonConverterAndDebeziumsExtractNewRecordStateReadTheTopicsIntoTheSourceRows() throws Exception {
        String db = "dbz";
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            ShopWorkload.createSchema(c);
            ShopWorkload w = new ShopWorkload(c, 11);
            w.seed(200, 20, 2_000);
            w.run(100);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture(db, db);
        JsonlPipelineFile.writeWithSink(dir, pg, db, role.user(),
                "  type: kafka",
                "  bootstrap_servers: " + KAFKA.broker().bootstrapServers(),
                "  format: connect_json");
        Map<String, String> env = Map.of("PW", role.password());
        FerryProcess snapshot = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(snapshot.waitFor()).as(snapshot.stderr()).isEqualTo(0);
        try (Connection c = pg.connect(db)) {
            new ShopWorkload(c, 12).run(300); // inserts, updates and deletes, streamed by the next run
        }
        FerryProcess stream = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(stream.waitFor()).as(stream.stderr()).isEqualTo(0);

        JsonConverter keys = converter(true, true);
        JsonConverter values = converter(false, true);
        JsonConverter rows = converter(false, false);
        long deletes = 0;
        Path replay = dir.resolve("replay");
        try (ExtractNewRecordState<SinkRecord> unwrap = new ExtractNewRecordState<>()) {
            unwrap.configure(Map.of("delete.tombstone.handling.mode", "rewrite"));
            long index = 0;
            for (String table : TABLES) {
                String topic = db + "." + table;
                Path folder = Files.createDirectories(replay.resolve(table));
                try (BufferedWriter out = Files.newBufferedWriter(folder.resolve("00000000000000000000.jsonl"))) {
                    for (ConsumerRecord<byte[], byte[]> r : KAFKA.broker().readCommitted(topic)) {
                        SchemaAndValue key = keys.toConnectData(topic, r.key());
                        SchemaAndValue value = values.toConnectData(topic, r.value());
                        SinkRecord record = new SinkRecord(topic, r.partition(), key.schema(), key.value(),
                                value.schema(), value.value(), r.offset());
                        SinkRecord row = unwrap.apply(record);
                        if (row == null) {
                            continue; // a tombstone: the rewritten delete before it already says it
                        }
                        Struct struct = (Struct) row.value();
                        boolean deleted = "true".equals(struct.get("__deleted"));
                        deletes += deleted ? 1 : 0;
                        // the replay check reads envelopes: the unwrapped row as a read, or as a delete
                        ObjectNode envelope = MAPPER.createObjectNode().put("op", deleted ? "d" : "r");
                        envelope.set(deleted ? "before" : "after", json(rows, topic, struct));
                        envelope.putObject("source").put("snapshot", true).put("lsn", 0).put("index", index++);
                        out.write(envelope.toString());
                        out.write('\n');
                    }
                }
            }
        }
        ReplayVerifier.Result result;
        try (Connection c = pg.connect(db)) {
            result = ReplayVerifier.verify(replay, c, TABLES);
        }
        System.out.println("KafkaDebeziumConsumersIT: " + result + ", " + deletes + " deletes unwrapped");
        assertThat(result.problems()).isEmpty();
        assertThat(deletes).isPositive();

        // check and status speak to the broker too; status reads the offset the sink committed in Kafka
        FerryProcess check = FerryProcess.start(dir, env, "check", "-c", "pipeline.yaml");
        assertThat(check.waitFor()).as(check.stderr()).isEqualTo(0);
        assertThat(check.stdout()).contains("sink kafka: Kafka").contains(KAFKA.broker().bootstrapServers());
        FerryProcess status = FerryProcess.start(dir, env, "status", "-c", "pipeline.yaml");
        assertThat(status.waitFor()).as(status.stderr()).isEqualTo(0);
        assertThat(status.stdout()).contains("sink kafka").contains("behind the Log               0 events");
    }

    /** The row as JSON, JSON columns ({@code io.debezium.data.Json}, text) as the JSON they hold. */
    private static ObjectNode json(JsonConverter rows, String topic, Struct struct) throws Exception {
        ObjectNode row = (ObjectNode) MAPPER.readTree(rows.fromConnectData(topic, struct.schema(), struct));
        row.remove("__deleted");
        for (Field f : struct.schema().fields()) {
            if ("io.debezium.data.Json".equals(f.schema().name()) && row.get(f.name()).isTextual()) {
                row.set(f.name(), MAPPER.readTree(row.get(f.name()).asText()));
            }
        }
        return row;
    }

    private static JsonConverter converter(boolean isKey, boolean schemas) {
        JsonConverter c = new JsonConverter();
        c.configure(Map.of("schemas.enable", String.valueOf(schemas), "converter.type", isKey ? "key" : "value"), isKey);
        return c;
    }
}
