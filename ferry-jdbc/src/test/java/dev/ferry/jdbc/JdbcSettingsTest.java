package dev.ferry.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ComponentConfig;
import dev.ferry.error.FerryException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class JdbcSettingsTest {
    private static JdbcSettings read(String tables) throws FerryException {
        ComponentConfig c = ComponentConfig.ofYaml("source", "type: jdbc\nurl: jdbc:postgresql://db/shop\n"
                + "password: secret\nlookback: 5m\ntables:\n" + tables);
        c.rejectUnknownKeys(JdbcSettings.ALL);
        return JdbcSettings.read(c);
    }

    @Test
    void tablesAreNamesOrMapsAndTakeTheSourceWideDefaults() throws Exception {
        JdbcSettings s = read("  - public.customers\n  - {table: orders, mode: incremental, cursor: id, lookback: 100, "
                + "deletes: key_compare}\n  - {table: events, mode: incremental, cursor: at}\n");
        assertThat(s.tables()).extracting(TableSpec::name).containsExactly("public.customers", "orders", "events");
        assertThat(s.tables().get(0).incremental()).isFalse();
        assertThat(s.tables().get(1).lookback()).isEqualTo(new TableSpec.Lookback(null, 100));
        assertThat(s.tables().get(1).keyCompare()).isTrue();
        assertThat(s.tables().get(2).lookback().duration()).isEqualTo(Duration.ofMinutes(5));
        assertThat(s.toString()).doesNotContain("secret");
    }

    @Test
    void mistakesNameTheKeyAndTheFix() {
        assertThatThrownBy(() -> read("  - {table: orders, mode: incremental}\n"))
                .hasMessageContaining("names no cursor column");
        assertThatThrownBy(() -> read("  - {table: orders, cursor: id}\n")).hasMessageContaining("a full table");
        assertThatThrownBy(() -> read("  - {table: orders, deletes: key_compare}\n")).hasMessageContaining("full table");
        assertThatThrownBy(() -> read("  - {table: orders, mode: incremental, cursor: id, lookback: soon}\n"))
                .hasMessageContaining("tables[0].lookback");
        assertThatThrownBy(() -> read("  - {table: orders, curser: id}\n")).hasMessageContaining("Did you mean cursor?");
        assertThatThrownBy(() -> JdbcSettings.read(ComponentConfig.ofYaml("source",
                "type: jdbc\nurl: jdbc:sqlite:x.db\ncursor: id\ntables: [t]\n"))).hasMessageContaining("belongs to one table");
        assertThatThrownBy(() -> JdbcSettings.read(ComponentConfig.ofYaml("source",
                "type: jdbc\nurl: jdbc:sqlite:x.db\nreaders: 0\ntables: [t]\n"))).hasMessageContaining("readers");
    }

    /** Review: address() is what logs, checks and ferry status print; passwords in other URL forms leak. */
    @Test
    void theAddressNeverShowsAPasswordWrittenInTheUrl() throws Exception {
        for (String url : new String[] {"jdbc:oracle:thin:scott/tiger@//db:1521/shop",
                "jdbc:sqlserver://db:1433;databaseName=shop;user=sa;password=tiger",
                "jdbc:oracle:thin:scott/tiger@db:1521:shop"}) {
            JdbcSettings s = JdbcSettings.read(ComponentConfig.ofYaml("source", "type: jdbc\nurl: \"" + url
                    + "\"\ntables: [t]\n"));
            assertThat(s.address()).as(url).doesNotContain("tiger");
        }
    }
}
