package dev.ferry.cli;

import dev.ferry.testkit.TestingPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The pipeline file most integration tests use: a private PostgreSQL database into {@code out/} as JSONL. */
final class JsonlPipelineFile {
    private JsonlPipelineFile() {
    }

    /** Writes {@code dir/pipeline.yaml} for pipeline {@code db} reading database {@code db}; password from $PW. */
    static void write(Path dir, TestingPostgres pg, String db) throws IOException {
        Files.writeString(dir.resolve("pipeline.yaml"), String.join("\n",
                "name: " + db,
                "source:",
                "  type: postgres",
                "  port: " + pg.port(),
                "  database: " + db,
                "  user: " + pg.user(),
                "  password: ${env:PW}",
                "sink:",
                "  type: jsonl",
                "  path: out", ""));
    }

    /** The environment that supplies $PW. */
    static Map<String, String> env(TestingPostgres pg) {
        return Map.of("PW", pg.password());
    }
}
