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
        write(dir, pg, db, pg.user());
    }

    /**
     * Like {@link #write(Path, TestingPostgres, String)}, with Ferry connecting as {@code role} from
     * {@link TestingPostgres#grantCapture}; its password from $PW, see {@link #env(TestingPostgres.CaptureRole)}.
     */
    static void write(Path dir, TestingPostgres pg, String db, TestingPostgres.CaptureRole role) throws IOException {
        write(dir, pg, db, role.user());
    }

    private static void write(Path dir, TestingPostgres pg, String db, String user) throws IOException {
        Files.writeString(dir.resolve("pipeline.yaml"), String.join("\n",
                "name: " + db,
                "source:",
                "  type: postgres",
                "  port: " + pg.port(),
                "  database: " + db,
                "  user: " + user,
                "  password: ${env:PW}",
                "sink:",
                "  type: jsonl",
                "  path: out", ""));
    }

    /** The environment that supplies $PW. */
    static Map<String, String> env(TestingPostgres pg) {
        return Map.of("PW", pg.password());
    }

    /** The environment that supplies $PW for {@code role}. */
    static Map<String, String> env(TestingPostgres.CaptureRole role) {
        return Map.of("PW", role.password());
    }
}
