package dev.ferry.cli;

import dev.ferry.testkit.TestingPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The pipeline file most integration tests use: a private PostgreSQL database into {@code out/} as JSONL (or another sink). */
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
        write(dir, pg, db, user, java.util.List.of("sink:", "  type: jsonl", "  path: out"));
    }

    /**
     * Writes {@code dir/pipeline.yaml} for pipeline {@code db} reading database {@code db} as
     * {@code user} (password from $PW) into the sink whose lines (indented under {@code sink:}) are given.
     */
    static void writeWithSink(Path dir, TestingPostgres pg, String db, String user, String... sinkLines)
            throws IOException {
        java.util.List<String> sink = new java.util.ArrayList<>(java.util.List.of("sink:"));
        sink.addAll(java.util.List.of(sinkLines));
        write(dir, pg, db, user, sink);
    }

    /**
     * Like {@link #write(Path, TestingPostgres, String, TestingPostgres.CaptureRole)} with another sink
     * section: its lines as they go under {@code sink:}, not yet indented.
     */
    static void write(Path dir, TestingPostgres pg, String db, TestingPostgres.CaptureRole role,
                      java.util.List<String> sink) throws IOException {
        java.util.List<String> lines = new java.util.ArrayList<>(java.util.List.of("sink:"));
        sink.forEach(l -> lines.add("  " + l));
        write(dir, pg, db, role.user(), lines);
    }

    /** The same source section (password from $PW) with other sink lines. */
    static void write(Path dir, TestingPostgres pg, String db, String user, java.util.List<String> sink) throws IOException {
        java.util.List<String> lines = new java.util.ArrayList<>(java.util.List.of(
                "name: " + db,
                "source:",
                "  type: postgres",
                "  port: " + pg.port(),
                "  database: " + db,
                "  user: " + user,
                "  password: ${env:PW}"));
        lines.addAll(sink);
        lines.add("");
        Files.writeString(dir.resolve("pipeline.yaml"), String.join("\n", lines));
    }

    /**
     * The lines of a postgres sink into database {@code warehouse} of the same server as its owner
     * (password from $WAREHOUSE_PW), committing every 200 ms; see {@link #warehouseEnv}.
     */
    static java.util.List<String> warehouseSink(TestingPostgres pg) {
        return java.util.List.of("sink:", "  type: postgres", "  port: " + pg.port(), "  database: warehouse",
                "  user: " + pg.user(), "  password: ${env:WAREHOUSE_PW}", "  commit_interval_ms: 200");
    }

    /** The environment that supplies $PW for {@code role} and $WAREHOUSE_PW for {@link #warehouseSink}. */
    static Map<String, String> warehouseEnv(TestingPostgres pg, TestingPostgres.CaptureRole role) {
        return Map.of("PW", role.password(), "WAREHOUSE_PW", pg.password());
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
