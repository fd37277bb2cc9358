package dev.ferry.mysql;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.config.ComponentConfig;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.sink.Sink;
import dev.ferry.sink.files.JsonlSinkFactory;
import dev.ferry.source.Source;
import dev.ferry.testkit.JsonlOutput;
import dev.ferry.testkit.TestingMariaDb;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A MySQL pipeline as the tests run it: the source from its YAML through the factory, the
 * embedded FileLog in {@code dir/state}, and the JSONL sink in {@code dir/out}.
 */
final class MySqlPipelines {
    static final MySqlSourceFactory FACTORY = new MySqlSourceFactory();

    private final TestingMariaDb server;
    private final String database;
    private final TestingMariaDb.User user;
    private final Path dir;
    private String extraYaml = "";

    MySqlPipelines(TestingMariaDb server, String database, TestingMariaDb.User user, Path dir) {
        this.server = server;
        this.database = database;
        this.user = user;
        this.dir = dir;
    }

    MySqlPipelines with(String yaml) {
        this.extraYaml = yaml;
        return this;
    }

    Source source() throws Exception {
        String yaml = "type: mysql\nhost: " + server.host() + "\nport: " + server.port() + "\ndatabase: " + database
                + "\nuser: " + user.name() + "\npassword: '" + user.password() + "'\n" + extraYaml;
        ComponentConfig c = ComponentConfig.ofYaml("source", yaml);
        c.rejectUnknownKeys(FACTORY.settings());
        return FACTORY.create(database, c);
    }

    /** One batch run ({@code ferry run --once}); returns whether it reached its end. */
    boolean runOnce() throws Exception {
        try (Source source = source();
             FileLog log = FileLog.open(dir.resolve("state"), FACTORY.positionCodec());
             Sink sink = new JsonlSinkFactory().create(database, ComponentConfig.ofYaml("sink", "path: "
                     + dir.resolve("out")), source.info())) {
            return new Pipeline(database, source, log, List.of(sink), List.of("jsonl"), 1000).run(Mode.ONCE);
        }
    }

    Path out() {
        return dir.resolve("out");
    }

    Path state() {
        return dir.resolve("state");
    }

    /** Every envelope written so far, in Log order. */
    List<JsonNode> envelopes() throws IOException {
        return JsonlOutput.envelopes(out());
    }
}
