package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code admin:} gives a running pipeline health, status and Prometheus metrics over HTTP, on loopback. */
class AdminEndpointIT extends PrivatePostgresTest {
    private static final Pattern ADDRESS = Pattern.compile("Admin endpoint on http://127\\.0\\.0\\.1:(\\d+)/");

    @TempDir
    Path dir;

    @Test
    void aRunningPipelineAnswersHealthStatusAndMetrics() throws Exception {
        pg.createDatabase("admin");
        try (Connection c = pg.connect("admin")) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, 1).seed(50, 5, 200);
        }
        long seeded = rows("admin");
        TestingPostgres.CaptureRole role = pg.grantCapture("admin", "admin");
        JsonlPipelineFile.write(dir, pg, "admin", role);
        Files.writeString(dir.resolve("pipeline.yaml"), "admin: {port: 0}\n", java.nio.file.StandardOpenOption.APPEND);
        FerryProcess ferry = FerryProcess.start(dir, JsonlPipelineFile.env(role), "run", "-c", "pipeline.yaml");
        try {
            long deadline = System.currentTimeMillis() + 60_000;
            Matcher m = ADDRESS.matcher("");
            while (!(m = ADDRESS.matcher(ferry.stderr())).find() && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            assertThat(m.find(0)).as("the endpoint's address is logged, on loopback: " + ferry.stderr()).isTrue();
            String base = "http://127.0.0.1:" + m.group(1);
            HttpClient http = HttpClient.newHttpClient();
            ObjectMapper json = new ObjectMapper();

            HttpResponse<String> health = get(http, base + "/health");
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(json.readTree(health.body()).path("status").asText()).isEqualTo("UP");

            // the workload only once the snapshot is delivered: changes made before the snapshot are in it
            deadline = System.currentTimeMillis() + 60_000;
            JsonNode snapshotDone = null;
            while (System.currentTimeMillis() < deadline) {
                snapshotDone = json.readTree(get(http, base + "/status").body());
                if (snapshotDone.path("snapshot_rows").asLong() >= seeded && snapshotDone.path("sinks").path(0)
                        .path("committed_offset").asLong() >= snapshotDone.path("log_end_offset").asLong()) {
                    break;
                }
                Thread.sleep(100);
            }
            assertThat(snapshotDone.path("snapshot_rows").asLong()).as(snapshotDone.toString()).isEqualTo(seeded);
            try (Connection c = pg.connect("admin")) {
                new ShopWorkload(c, 2).run(100);
            }
            JsonNode status = null;
            deadline = System.currentTimeMillis() + 30_000;
            while (System.currentTimeMillis() < deadline) {
                status = json.readTree(get(http, base + "/status").body());
                if (status.path("streamed_changes").asLong() > 0
                        && status.path("sinks").path(0).path("committed_offset").asLong() >= status.path("log_end_offset").asLong()) {
                    break;
                }
                Thread.sleep(200);
            }
            assertThat(status.path("pipeline").asText()).isEqualTo("admin");
            long snapshotRows = status.path("snapshot_rows").asLong();
            assertThat(snapshotRows).isEqualTo(seeded);
            assertThat(status.path("streamed_changes").asLong()).isPositive();
            assertThat(status.path("sinks").path(0).path("name").asText()).isEqualTo("jsonl");
            assertThat(status.path("sinks").path(0).path("dead_letter_entries").asInt()).isZero();

            String metrics = get(http, base + "/metrics").body();
            assertThat(metrics).contains("ferry_snapshot_rows_total{pipeline=\"admin\"} " + snapshotRows + ".0")
                    .contains("ferry_sink_delivered_total{sink=\"jsonl\"}")
                    .contains("ferry_sink_dead_letter_entries{sink=\"jsonl\"} 0.0")
                    .containsPattern("ferry_log_sync_seconds_count\\{pipeline=\"admin\"\\} [1-9]")
                    .contains("ferry_log_sync_seconds_sum{pipeline=\"admin\"}")
                    .contains("ferry_log_sync_seconds_max{pipeline=\"admin\"}")
                    .contains("jvm_memory_used_bytes");

            HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(base + "/status"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).as("read-only").isEqualTo(405);
        } finally {
            ferry.terminate();
            assertThat(ferry.waitFor()).as(ferry.stderr()).isEqualTo(0);
        }
    }

    @Test
    void anUnknownAdminKeyIsAConfigError() throws Exception {
        pg.createDatabase("admin2");
        pg.execute("admin2", "CREATE TABLE t (id int PRIMARY KEY)");
        TestingPostgres.CaptureRole role = pg.grantCapture("admin2", "admin2");
        JsonlPipelineFile.write(dir, pg, "admin2", role);
        Files.writeString(dir.resolve("pipeline.yaml"), "admin: {prot: 0}\n", java.nio.file.StandardOpenOption.APPEND);
        FerryProcess ferry = FerryProcess.start(dir, JsonlPipelineFile.env(role), "run", "-c", "pipeline.yaml", "--once");
        assertThat(ferry.waitFor()).isEqualTo(2);
        assertThat(ferry.stderr()).contains("admin.prot").contains("Did you mean port?");
    }

    private long rows(String db) throws Exception {
        try (Connection c = pg.connect(db); java.sql.ResultSet rs = c.createStatement().executeQuery(
                "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM products) "
                        + "+ (SELECT count(*) FROM transactions)")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
