package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.CrashPoints;
import dev.ferry.log.FileLog;
import dev.ferry.postgres.PgPosition;
import dev.ferry.postgres.PostgresSourceFactory;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ferry halted at each named commit point (FERRY_CRASH_AT), again and again, while changes keep
 * coming: after every halt the slot's confirmed flush LSN is not ahead of what the Log holds, and at
 * the end the replay check finds nothing lost and nothing duplicated.
 *
 * <p>Ferry runs as a role with only LOGIN, REPLICATION and SELECT on the tables (see TestingPostgres.grantCapture).
 */
class CrashPointsIT extends PrivatePostgresTest {
    private static final List<String> POINTS = List.of("log.before-fsync", "pipeline.before-acknowledge",
            "pipeline.after-acknowledge", "pipeline.after-sink-write", "sink.before-rename", "sink.before-manifest");
    private static final List<String> TABLES = List.of("public.customers", "public.products", "public.transactions");

    @TempDir
    Path dir;

    @Test
    void everyCommitPointHaltedRepeatedlyLosesAndDuplicatesNothing() throws Exception {
        long seed = Long.getLong("ferry.seed", System.nanoTime());
        System.out.println("CrashPointsIT seed: " + seed + " (replay with -Dferry.seed=" + seed + ")");
        Random random = new Random(seed);
        pg.createDatabase("points");
        try (Connection c = pg.connect("points")) {
            ShopWorkload.createSchema(c);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture("points", "points");
        JsonlPipelineFile.write(dir, pg, "points", role);
        int halts = 0;
        java.util.Set<String> halted = new java.util.HashSet<>();
        try (Connection c = pg.connect("points")) {
            ShopWorkload workload = new ShopWorkload(c, seed);
            workload.seed(300, 20, 3_000);
            for (int round = 0; round < 3; round++) {
                for (String point : POINTS) {
                    workload.run(50 + random.nextInt(150));
                    int n = round == 0 ? 1 : 1 + random.nextInt(3);
                    FerryProcess p = FerryProcess.start(dir, Map.of("PW", role.password(), "FERRY_CRASH_AT", point + ":" + n),
                            "run", "-c", "pipeline.yaml", "--once");
                    int code = p.waitFor();
                    assertThat(code).as(point + ":" + n + "\n" + p.stderr()).isIn(0, CrashPoints.EXIT_STATUS);
                    if (code == CrashPoints.EXIT_STATUS) {
                        halts++;
                        halted.add(point);
                    }
                    assertSlotNotAheadOfTheLog(point);
                }
            }
        }
        FerryProcess finish = FerryProcess.start(dir, JsonlPipelineFile.env(role), "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        ReplayVerifier.Result result;
        try (Connection c = pg.connect("points")) {
            result = ReplayVerifier.verify(dir.resolve("out"), c, TABLES);
        }
        System.out.println("CrashPointsIT: " + halts + " halts at " + POINTS.size() + " points; replay: " + result);
        assertThat(halted).as("every crash point was reached and halted at").containsExactlyInAnyOrderElementsOf(POINTS);
        assertThat(result.problems()).isEmpty();
    }

    private void assertSlotNotAheadOfTheLog(String point) throws Exception {
        long confirmed;
        try (Connection c = pg.connect("points"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT confirmed_flush_lsn::text FROM pg_replication_slots "
                     + "WHERE slot_name = 'ferry_points'")) {
            if (!rs.next()) {
                return; // halted before the slot was created
            }
            confirmed = PgPosition.parseLsn(rs.getString(1));
        }
        try (FileLog log = FileLog.open(dir.resolve(".ferry/points/log"), new PostgresSourceFactory().positionCodec())) {
            long logged = log.lastPosition().map(p -> ((PgPosition) p).lsn()).orElse(0L);
            assertThat(Long.compareUnsigned(confirmed, logged)).as("after a halt at " + point
                    + ": slot confirmed " + PgPosition.formatLsn(confirmed) + ", Log holds " + PgPosition.formatLsn(logged))
                    .isLessThanOrEqualTo(0);
        }
    }
}
