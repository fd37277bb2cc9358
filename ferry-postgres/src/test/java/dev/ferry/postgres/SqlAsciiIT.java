package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ComponentConfig;
import dev.ferry.event.ChangeEvent;
import dev.ferry.source.Check;
import dev.ferry.source.Source;
import dev.ferry.testkit.PrivatePostgresTest;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A SQL_ASCII database stores whatever bytes it is given. Ferry reads it as UTF-8: valid UTF-8 text
 * comes through as it is, and PostgreSQL itself refuses to send text that is not, in the snapshot and
 * in the stream, so such a value stops them rather than arrive garbled; {@code ferry check} warns of it
 * up front.
 */
class SqlAsciiIT extends PrivatePostgresTest {
    @TempDir
    Path dir;

    @Test
    void utf8TextComesThroughAndTextThatIsNotStopsWithTheServersErrorAfterCheckWarned() throws Exception {
        pg.execute("postgres", "CREATE DATABASE legacy ENCODING 'SQL_ASCII' TEMPLATE template0",
                "CREATE DATABASE modern ENCODING 'UTF8' TEMPLATE template0");
        pg.execute("legacy", "CREATE TABLE notes (k text PRIMARY KEY, v text)",
                "INSERT INTO notes VALUES ('plain', 'ascii'), ('grüße', '日本 🚢')");
        try (Source legacy = source("legacy"); Source modern = source("modern")) {
            assertThat(legacy.check()).anySatisfy(c -> {
                assertThat(c.subject()).isEqualTo("database encoding");
                assertThat(c.status()).isEqualTo(Check.Status.WARNING);
                assertThat(c.detail()).contains("SQL_ASCII").contains("not valid UTF-8");
                assertThat(c.fix()).contains("ENCODING 'UTF8'");
            });
            assertThat(modern.check()).noneMatch(c -> c.subject().equals("database encoding"));
        }

        CollectingSink sink = new CollectingSink();
        List<ChangeEvent> snapshot = sink.runOnce(pg, "legacy", dir, "legacy", "");
        assertThat(snapshot).extracting(e -> e.after().get(0) + "=" + e.after().get(1))
                .containsExactlyInAnyOrder("plain=ascii", "grüße=日本 🚢");

        pg.execute("legacy", "INSERT INTO notes VALUES ('also utf-8', 'é')", "INSERT INTO notes VALUES (E'caf\\xe9', 'latin-1 key')");
        assertThatThrownBy(() -> sink.runOnce(pg, "legacy", dir, "legacy", ""))
                .as("the stream stops at the change").hasMessageContaining("invalid byte sequence for encoding \"UTF8\": 0xe9");
        assertThat(sink.events).extracting(e -> String.valueOf(e.after().get(0)))
                .as("nothing of the change PostgreSQL would not send, nor a value read wrong")
                .contains("plain", "grüße").isSubsetOf("plain", "grüße", "also utf-8");

        CollectingSink fresh = new CollectingSink();
        assertThatThrownBy(() -> fresh.runOnce(pg, "legacy", dir, "legacy_snapshot", ""))
                .as("the snapshot stops at the row").hasMessageContaining("invalid byte sequence for encoding \"UTF8\": 0xe9");
        assertThat(fresh.events).extracting(e -> String.valueOf(e.after().get(0))).noneMatch(k -> k.startsWith("caf"));
    }

    private Source source(String database) throws Exception {
        String yaml = "type: postgres\nhost: " + pg.host() + "\nport: " + pg.port() + "\ndatabase: " + database
                + "\nuser: " + pg.user() + "\npassword: '" + pg.password() + "'\n";
        return new PostgresSourceFactory().create(database, ComponentConfig.ofYaml("source", yaml));
    }
}
