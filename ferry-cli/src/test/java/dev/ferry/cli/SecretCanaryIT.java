package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A password is a canary: every command a user runs with it (check, a batch run with snapshot and
 * stream, status, the dead-letter commands, a run with DEBUG logging, and a run whose password is
 * wrong) must leave it nowhere: not in the console output, not in any file under the pipeline's folder
 * (the Log's segments, the state folder, the dead-letter log, the sink output).
 */
class SecretCanaryIT extends PrivatePostgresTest {
    @TempDir
    Path dir;

    @Test
    void thePasswordAppearsNowhere() throws Exception {
        pg.createDatabase("canary");
        try (Connection c = pg.connect("canary")) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, 1).seed(50, 5, 200);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture("canary", "canary");
        String canary = role.password();
        assertThat(canary).hasSizeGreaterThanOrEqualTo(16);
        JsonlPipelineFile.write(dir, pg, "canary", role);
        Map<String, String> env = new HashMap<>(JsonlPipelineFile.env(role));
        List<String> console = new ArrayList<>();

        console.addAll(run(env, 0, "check", "-c", "pipeline.yaml"));
        console.addAll(run(env, 0, "run", "-c", "pipeline.yaml", "--once"));
        try (Connection c = pg.connect("canary")) {
            new ShopWorkload(c, 2).run(200);
        }
        Map<String, String> debug = new HashMap<>(env);
        debug.put("FERRY_LOG_LEVEL", "DEBUG");
        console.addAll(run(debug, 0, "run", "-c", "pipeline.yaml", "--once"));
        console.addAll(run(env, 0, "status", "-c", "pipeline.yaml"));
        console.addAll(run(env, 0, "dlq", "list", "-c", "pipeline.yaml"));

        // the wrong password is a secret too, and error paths are where secrets leak
        String wrong = canary.substring(0, canary.length() - 1) + (canary.endsWith("x") ? "y" : "x");
        Map<String, String> wrongEnv = new HashMap<>(env);
        wrongEnv.put("PW", wrong);
        console.addAll(run(wrongEnv, 2, "run", "-c", "pipeline.yaml", "--once"));
        console.addAll(run(wrongEnv, 2, "check", "-c", "pipeline.yaml"));

        assertThat(String.join("\n", console)).as("console output").doesNotContain(canary).doesNotContain(wrong)
                .contains("rejected the password");
        long filesRead = 0;
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String bytes = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
                assertThat(bytes).as(f.toString()).doesNotContain(canary).doesNotContain(wrong);
                filesRead++;
            }
        }
        assertThat(filesRead).as("the Log, the state and the output were read").isGreaterThan(5);
        assertThat(Files.exists(dir.resolve(".ferry/canary/log"))).isTrue();
    }

    private List<String> run(Map<String, String> env, int expectedExit, String... args) throws Exception {
        FerryProcess p = FerryProcess.start(dir, env, args);
        int exit = p.waitFor();
        assertThat(exit).as(String.join(" ", args) + ": " + p.stderr()).isEqualTo(expectedExit);
        return List.of(p.stdout(), p.stderr());
    }
}
