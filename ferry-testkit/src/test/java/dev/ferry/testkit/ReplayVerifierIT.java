package dev.ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JSONL replay of {@link ReplayVerifier} on change events written by hand, against a private PostgreSQL. */
class ReplayVerifierIT extends PrivatePostgresTest {
    @TempDir
    Path out;

    @Test
    void aKeyChangeThatLeavesAToastedValueUnsentKeepsTheOldKeysValue() throws Exception {
        pg.createDatabase("replay");
        pg.execute("replay", "CREATE TABLE t (id int PRIMARY KEY, big text)", "INSERT INTO t VALUES (3, 'x'), (5, 'y')");
        Path dir = Files.createDirectories(out.resolve("public.t"));
        Files.writeString(dir.resolve("00000000000000000004.jsonl"), String.join("\n",
                "{\"op\":\"r\",\"before\":null,\"after\":{\"id\":1,\"big\":\"x\"},\"source\":{\"snapshot\":true,\"lsn\":1,\"index\":0}}",
                "{\"op\":\"r\",\"before\":null,\"after\":{\"id\":5,\"big\":\"y\"},\"source\":{\"snapshot\":true,\"lsn\":1,\"index\":1}}",
                // PostgreSQL's update of the key: the old key, the new row without the TOASTed value
                "{\"op\":\"u\",\"before\":{\"id\":1,\"big\":null},\"after\":{\"id\":2,\"big\":null},\"unchanged\":[\"big\"],"
                        + "\"source\":{\"snapshot\":false,\"lsn\":20,\"index\":0}}",
                "{\"op\":\"u\",\"before\":{\"id\":2,\"big\":null},\"after\":{\"id\":3,\"big\":null},\"unchanged\":[\"big\"],"
                        + "\"source\":{\"snapshot\":false,\"lsn\":30,\"index\":0}}",
                // the key unchanged: no old key from PostgreSQL's default replica identity
                "{\"op\":\"u\",\"before\":null,\"after\":{\"id\":5,\"big\":null},\"unchanged\":[\"big\"],"
                        + "\"source\":{\"snapshot\":false,\"lsn\":40,\"index\":0}}") + "\n");
        try (Connection db = pg.connect("replay")) {
            ReplayVerifier.Result result = ReplayVerifier.verify(out, db, List.of("public.t"));
            assertThat(result.problems()).isEmpty();
            assertThat(result.rows()).isEqualTo(2);
            assertThat(result.events()).isEqualTo(5);
        }
    }
}
