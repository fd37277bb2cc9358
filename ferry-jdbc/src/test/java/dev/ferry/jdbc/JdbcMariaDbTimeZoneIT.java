package dev.ferry.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.source.Window;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingMariaDb;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MariaDB {@code TIMESTAMP} cursors on a server whose time zone has daylight saving time
 * (Europe/Berlin): on 2026-10-25 the clocks go back from 03:00 CEST to 02:00 CET, so the local hour
 * 02:00-03:00 happens twice. Read in local time, a row written in the second 02:10 sorts before the
 * mark 02:30 of a row written in the first, and is missed.
 */
class JdbcMariaDbTimeZoneIT {
    private static TestingMariaDb mariadb;

    @BeforeAll
    static void startServerInBerlin() {
        mariadb = TestingMariaDb.builder().environment("TZ", "Europe/Berlin").start();
    }

    @AfterAll
    static void stopServer() {
        if (mariadb != null) {
            mariadb.close();
        }
    }

    @Test
    void aTimestampCursorIsReadInUtcSoTheRepeatedHourOfTheDstChangeLosesNoRow(@TempDir Path dir) throws Exception {
        mariadb.createDatabase("tz");
        mariadb.execute("tz", "CREATE TABLE events (id int PRIMARY KEY, local_at datetime NOT NULL, "
                + "updated_at timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))");
        assertThat(serverTimeZone()).isEqualTo("SYSTEM");
        insertAtUtc(1, "2026-10-25 00:30:00", "2026-10-25 02:30:00"); // 02:30 CEST, the first 02:30 of the night
        TestingMariaDb.User reader = mariadb.createUser("reader", "SELECT");
        JdbcPipelines p = new JdbcPipelines("type: jdbc\nurl: " + mariadb.jdbcUrl("tz") + "\nuser: " + reader.name()
                + "\npassword: '" + reader.password() + "'\nchunk_rows: 2\ntables:\n"
                + "  - {table: events, mode: incremental, cursor: updated_at, lookback: 10m}\n", dir);
        assertThat(p.runOnce()).isTrue();

        insertAtUtc(2, "2026-10-25 01:10:00", "2026-10-25 02:10:00"); // 02:10 CET: forty minutes later, but an earlier local time
        assertThat(p.runOnce()).isTrue();
        List<JsonNode> events = p.envelopes("events");
        assertThat(events).extracting(e -> e.path("after").path("id").asInt()).containsExactly(1, 2);
        // TIMESTAMP is an instant (UTC); DATETIME stays the local date-time that was written
        assertThat(events).extracting(e -> e.path("after").path("updated_at").asText())
                .containsExactly("2026-10-25T00:30:00Z", "2026-10-25T01:10:00Z");
        assertThat(events.get(0).path("after").path("local_at").asText()).isEqualTo("2026-10-25T02:30:00");
        try (Connection c = mariadb.connect("tz")) {
            ReplayVerifier.Result replay = ReplayVerifier.verify(p.out(), c, List.of("tz.events"));
            assertThat(replay.ok()).as(replay.toString()).isTrue();
        }

        // a window in UTC selects by the instant: 01:00-02:00 UTC holds only the second row
        JdbcPipelines w = new JdbcPipelines("type: jdbc\nurl: "
                + mariadb.jdbcUrl("tz") + "\nuser: " + reader.name() + "\npassword: '" + reader.password()
                + "'\ntables:\n  - {table: events, mode: incremental, cursor: updated_at}\n", dir.resolve("window"));
        assertThat(w.runOnce(new Window(LocalDateTime.parse("2026-10-25T01:00"), LocalDateTime.parse("2026-10-25T02:00"),
                ZoneOffset.UTC))).isTrue();
        assertThat(w.envelopes("events")).extracting(e -> e.path("after").path("id").asInt()).containsExactly(2);
    }

    /** A row whose TIMESTAMP is the instant {@code utc}, and whose DATETIME is Berlin's local time then. */
    private static void insertAtUtc(int id, String utc, String berlin) throws Exception {
        try (Connection c = mariadb.connect("tz"); Statement s = c.createStatement()) {
            s.execute("SET time_zone = '+00:00'");
            s.execute("INSERT INTO events VALUES (" + id + ", '" + berlin + "', '" + utc + "')");
        }
    }

    private static String serverTimeZone() throws Exception {
        try (Connection c = mariadb.connect("tz"); Statement s = c.createStatement();
             var rs = s.executeQuery("SELECT @@global.time_zone")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
