package dev.ferry.jdbc;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.config.ComponentConfig;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.sink.Sink;
import dev.ferry.sink.files.JsonlSinkFactory;
import dev.ferry.source.Source;
import dev.ferry.source.Window;
import dev.ferry.testkit.JsonlOutput;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A JDBC pipeline as the tests run it: the source from its YAML through the factory, the embedded
 * FileLog in {@code dir/state}, and the JSONL sink in {@code dir/out}.
 */
final class JdbcPipelines {
    static final JdbcSourceFactory FACTORY = new JdbcSourceFactory();

    private final String sourceYaml;
    private final Path dir;

    /** @param sourceYaml the source section: type: jdbc, url, tables... */
    JdbcPipelines(String sourceYaml, Path dir) {
        this.sourceYaml = sourceYaml;
        this.dir = dir;
    }

    Source source() throws Exception {
        ComponentConfig c = ComponentConfig.ofYaml("source", sourceYaml);
        c.rejectUnknownKeys(FACTORY.settings());
        return FACTORY.create("jdbctest", c);
    }

    /** One batch run ({@code ferry run --once}); returns whether it reached its end. */
    boolean runOnce() throws Exception {
        return run(null, 0);
    }

    /** A batch run of one window. */
    boolean runOnce(Window window) throws Exception {
        return run(window, 0);
    }

    /** A batch run stopped (as by SIGTERM) after {@code millis}; returns whether it still reached its end. */
    boolean runStoppedAfter(long millis) throws Exception {
        return run(null, millis);
    }

    private boolean run(Window window, long stopAfterMillis) throws Exception {
        try (Source source = source();
             FileLog log = FileLog.open(dir.resolve("state"), FACTORY.positionCodec());
             Sink sink = new JsonlSinkFactory().create("jdbctest", ComponentConfig.ofYaml("sink", "path: "
                     + dir.resolve("out")), source.info())) {
            Files.createDirectories(dir.resolve("state").resolve("source"));
            source.workFolder(dir.resolve("state").resolve("source"));
            if (window != null) {
                source.window(window);
            }
            Pipeline pipeline = new Pipeline("jdbctest", source, log, List.of(sink), List.of("jsonl"), 1000);
            Thread stopper = new Thread(() -> {
                try {
                    Thread.sleep(stopAfterMillis);
                    pipeline.stop();
                } catch (InterruptedException e) {
                    // the run ended first
                }
            });
            if (stopAfterMillis > 0) {
                stopper.start();
            }
            try {
                return pipeline.run(Mode.ONCE);
            } finally {
                stopper.interrupt();
                if (stopAfterMillis > 0) {
                    stopper.join();
                }
            }
        }
    }

    Path out() {
        return dir.resolve("out");
    }

    /** Every envelope written so far, in Log order. */
    List<JsonNode> envelopes() throws IOException {
        return JsonlOutput.envelopes(out());
    }

    /** The envelopes of one table ({@code source.table}). */
    List<JsonNode> envelopes(String table) throws IOException {
        return envelopes().stream().filter(e -> e.path("source").path("table").asText().equals(table)).toList();
    }

    /**
     * The replay check's sink side: the envelopes of a table applied in order, by the key column
     * {@code key} (a truncate empties the table, a delete removes the row, anything else upserts):
     * key → the row's {@code after} as JSON text.
     */
    Map<String, String> applied(String table, String key) throws IOException {
        Map<String, String> rows = new LinkedHashMap<>();
        for (JsonNode e : envelopes(table)) {
            switch (e.path("op").asText()) {
                case "t" -> rows.clear();
                case "d" -> rows.remove(e.path("before").path(key).asText());
                default -> rows.put(e.path("after").path(key).asText(), e.path("after").toString());
            }
        }
        return rows;
    }
}
