package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ferry command with a jdbc source on an SQLite file: a window run, its re-run, and the schedule in status. */
class JdbcWindowIT {
    @Test
    void aWindowRunAgainGivesTheSameBytesAndStatusShowsTheNextScheduledRun(@TempDir Path dir) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("shop.db"));
             Statement s = c.createStatement()) {
            s.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, updated_at TEXT NOT NULL)");
            for (int i = 0; i < 72; i++) {
                s.execute("INSERT INTO orders VALUES (" + i + ", " + i + ".5, datetime('2026-11-29 00:30:00', '+" + i
                        + " hours'))");
            }
        }
        Files.writeString(dir.resolve("shop.yaml"), """
                name: shop
                source:
                  type: jdbc
                  url: jdbc:sqlite:shop.db
                  tables:
                    - {table: orders, mode: incremental, cursor: updated_at, lookback: 1h}
                schedule: {cron: "0 2 * * *", zone: UTC, window: day}
                sink:
                  type: jsonl
                  path: out/
                """);
        String[] window = {"run", "-c", "shop.yaml", "--once", "--window", "2026-11-30", "--zone", "UTC"};
        FerryProcess first = FerryProcess.start(dir, Map.of(), window);
        assertThat(first.waitFor()).as(first.stderr()).isZero();
        Path partition = dir.resolve("out/main.orders/window=2026-11-30/data.jsonl");
        assertThat(Files.readAllLines(partition)).hasSize(24);
        String checksum = sha256(partition);

        FerryProcess again = FerryProcess.start(dir, Map.of(), window);
        assertThat(again.waitFor()).as(again.stderr()).isZero();
        assertThat(sha256(partition)).isEqualTo(checksum);

        FerryProcess noOnce = FerryProcess.start(dir, Map.of(), "run", "-c", "shop.yaml", "--window", "yesterday");
        assertThat(noOnce.waitFor()).isEqualTo(2);
        assertThat(noOnce.stderr()).contains("add --once");

        // a sink without window partitions would take the window's truncate for the whole table's
        Files.writeString(dir.resolve("mirror.yaml"), Files.readString(dir.resolve("shop.yaml"))
                .replace("name: shop", "name: mirror").replace("type: jsonl", "type: csv").replace("out/", "csv/"));
        FerryProcess refused = FerryProcess.start(dir, Map.of(), "run", "-c", "mirror.yaml", "--once", "--window",
                "2026-11-30", "--zone", "UTC");
        assertThat(refused.waitFor()).as(refused.stderr()).isEqualTo(2);
        assertThat(refused.stderr()).contains("--window").contains("csv sink does not keep");
        FerryProcess scheduled = FerryProcess.start(dir, Map.of(), "run", "-c", "mirror.yaml");
        assertThat(scheduled.waitFor()).as(scheduled.stderr()).isEqualTo(2);
        assertThat(scheduled.stderr()).contains("schedule.window: day");
        assertThat(dir.resolve("csv")).doesNotExist();

        FerryProcess status = FerryProcess.start(dir, Map.of(), "status", "-c", "shop.yaml");
        assertThat(status.waitFor()).as(status.stderr()).isZero();
        assertThat(status.stdout()).contains("schedule").contains("0 2 * * * (UTC)").contains("next run")
                .contains("run 2 (window 2026-11-30) complete");
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
