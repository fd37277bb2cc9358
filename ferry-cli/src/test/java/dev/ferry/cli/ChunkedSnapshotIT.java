package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.TestingPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chunked snapshots between watermarks ({@code snapshot: chunked}, {@code ferry snapshot}): consistent
 * with a concurrent workload on the same table, with no Ferry transaction open for more than a
 * moment, resumable after SIGKILL from the last durable chunk.
 */
class ChunkedSnapshotIT extends PrivatePostgresTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int ROWS = Integer.getInteger("ferry.chunkedRows", 200_000);

    @TempDir
    Path dir;

    @Test
    void consistentUnderAConcurrentWorkloadWithoutALongTransaction() throws Exception {
        String db = "fire";
        createTable(db, ROWS);
        writePipeline(db, "  snapshot: chunked\n  snapshot_chunk_rows: 5000\n");
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong changes = new AtomicLong();
        AtomicLong longestTransactionMillis = new AtomicLong();
        AtomicLong ferrySessionsSeen = new AtomicLong();
        Thread workload = new Thread(() -> workload(db, running, changes), "workload");
        Thread watcher = new Thread(() -> watchTransactions(db, running, longestTransactionMillis, ferrySessionsSeen),
                "watcher");
        // DDL during the snapshot: an ALTER TABLE waits only for the chunk statements running when it comes
        List<Long> alterMillis = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread ddl = new Thread(() -> addColumns(db, running, alterMillis), "ddl");
        long start = System.nanoTime();
        FerryProcess ferry = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml");
        workload.start();
        watcher.start();
        awaitStderr(ferry, "snapshot public.big:", 60); // under way
        ddl.start();
        try {
            awaitStderr(ferry, "Snapshot of public.big finished", 240);
        } finally {
            running.set(false);
            workload.join();
            watcher.join();
            ddl.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(ferry.stderr()).as("progress is logged").containsPattern("snapshot public.big: [0-9,]+ of ~[0-9,]+ rows");
        awaitReplay(db, ferry);
        ferry.terminate();
        assertThat(ferry.waitFor()).as(ferry.stderr()).isZero();
        System.out.printf("ChunkedSnapshotIT: %,d rows snapshotted in %.1f s while the workload made %,d changes; "
                + "longest Ferry transaction %d ms%n", ROWS, seconds, changes.get(), longestTransactionMillis.get());
        assertThat(changes.get()).as("the workload ran during the snapshot").isPositive();
        assertThat(ferrySessionsSeen.get()).as("the watcher saw Ferry's sessions").isPositive();
        assertThat(longestTransactionMillis.get()).as("no Ferry transaction stays open").isLessThan(5_000);
        System.out.printf("ChunkedSnapshotIT: ALTER TABLE ... ADD COLUMN during the snapshot took %s ms%n", alterMillis);
        assertThat(alterMillis).as("columns were added during the snapshot").isNotEmpty();
        assertThat(alterMillis).as("no ALTER TABLE waits long for Ferry").allMatch(ms -> ms < 2_000);
    }

    /** Adds a column every second while {@code running}, timing each ALTER TABLE (lock_timeout 10 s). */
    private static void addColumns(String db, AtomicBoolean running, List<Long> millis) {
        try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
            s.execute("SET lock_timeout = '10s'");
            for (int i = 0; running.get() && i < 3; i++) {
                long start = System.nanoTime();
                s.execute("ALTER TABLE big ADD COLUMN added_" + i + " int");
                millis.add((System.nanoTime() - start) / 1_000_000);
                Thread.sleep(1_000);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aCompositeTextKeyWithIncludeColumnsAndKeyChangingUpdates() throws Exception {
        String db = "composite";
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE inc (a text, b int, v text, n int, PRIMARY KEY (b, a) INCLUDE (v))",
                "INSERT INTO inc SELECT 'k' || (g % 7), g, md5(g::text), 0 FROM generate_series(1, 30000) g", "ANALYZE inc");
        writePipeline(db, "  snapshot: chunked\n  snapshot_chunk_rows: 1000\n");
        AtomicBoolean running = new AtomicBoolean(true);
        Thread workload = new Thread(() -> {
            Random random = new Random(5);
            try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
                while (running.get()) {
                    int b = 1 + random.nextInt(30000);
                    switch (random.nextInt(3)) {
                        case 0 -> s.execute("UPDATE inc SET v = 'changed', n = n + 1 WHERE b = " + b);
                        case 1 -> s.execute("UPDATE inc SET a = a || 'x' WHERE b = " + b); // the key changes
                        default -> s.execute("DELETE FROM inc WHERE b = " + b);
                    }
                    Thread.sleep(1);
                }
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "workload");
        FerryProcess ferry = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml");
        workload.start();
        try {
            awaitStderr(ferry, "Snapshot of public.inc finished", 120);
        } finally {
            running.set(false);
            workload.join();
        }
        awaitReplay(db, ferry, "public.inc");
        ferry.terminate();
        assertThat(ferry.waitFor()).as(ferry.stderr()).isZero();
    }

    @Test
    void aPartitionedTableIsReadThroughItsRootWhileItsPartitionsChange() throws Exception {
        String db = "parted";
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE m (id int, region text, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region)",
                "CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu')", "CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us')",
                "CREATE TABLE m_asia PARTITION OF m FOR VALUES IN ('asia')",
                "INSERT INTO m SELECT g, (ARRAY['eu','us','asia'])[1 + g % 3], md5(g::text) FROM generate_series(1, 9000) g",
                "ANALYZE m");
        writePipeline(db, "  snapshot: chunked\n  snapshot_chunk_rows: 500\n");
        FerryProcess ferry = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml");
        for (int i = 0; i < 30; i++) {
            pg.execute(db, "UPDATE m SET v = 'changed' WHERE id % 30 = " + i,
                    "UPDATE m SET region = 'eu' WHERE region = 'us' AND id % 90 = " + i, // moves between partitions
                    "DELETE FROM m WHERE id % 300 = " + i, "INSERT INTO m VALUES (" + (9001 + i) + ", 'asia', 'new')");
        }
        awaitStderr(ferry, "Snapshot of public.m finished", 120);
        awaitReplay(db, ferry, "public.m");
        ferry.terminate();
        assertThat(ferry.waitFor()).as(ferry.stderr()).isZero();
    }

    @Test
    void killedHalfwayResumesFromItsLastDurableChunk() throws Exception {
        String db = "resume";
        int rows = 60_000;
        createTable(db, rows);
        writePipeline(db, "  snapshot: chunked\n  snapshot_chunk_rows: 2000\n  snapshot_chunks_in_flight: 4\n");
        Map<String, String> crash = new HashMap<>(env());
        // the 10th chunk's reads are durable in the Log, its progress not yet recorded: it is read again
        crash.put("FERRY_CRASH_AT", "postgres.snapshot-progress:10");
        FerryProcess crashing = FerryProcess.start(dir, crash, "run", "-c", "pipeline.yaml");
        assertThat(crashing.waitFor()).as(crashing.stderr()).isEqualTo(86);
        pg.execute(db, "UPDATE big SET v = 'after the crash' WHERE id % 1000 = 0", "DELETE FROM big WHERE id % 777 = 0");
        FerryProcess resumed = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(resumed.waitFor()).as(resumed.stderr()).isZero();
        assertThat(resumed.stderr()).contains("Snapshot of public.big finished");
        try (Connection c = pg.connect(db)) {
            ReplayVerifier.Result result = ReplayVerifier.verify(dir.resolve("out"), c, List.of("public.big"));
            assertThat(result.problems()).isEmpty();
        }
        Map<Long, Integer> reads = readsById();
        long readTwice = reads.values().stream().filter(n -> n > 1).count();
        System.out.printf("ChunkedSnapshotIT: killed before recording progress the 10th time (%,d chunks); %,d rows "
                + "read twice (chunks of 2,000, 4 in flight)%n", rows / 2000, readTwice);
        assertThat(readTwice).as("only the chunks in flight are read again").isPositive().isLessThanOrEqualTo(4 * 2000);
        assertThat(reads.size()).as("rows read over both runs").isGreaterThanOrEqualTo(rows - rows / 777 - 1);
    }

    @Test
    void readsItsChunksFromAStandbyWhileTheSourceChanges() throws Exception {
        String db = "standby";
        int rows = 40_000;
        createTable(db, rows);
        try (TestingPostgres standby = pg.startStandby()) {
            writePipeline(db, "  snapshot: chunked\n  snapshot_chunk_rows: 2000\n  snapshot_replica: 127.0.0.1:"
                    + standby.port() + "\n");
            long before = tupleReads(db);
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong changes = new AtomicLong();
            Thread workload = new Thread(() -> workload(db, running, changes), "workload");
            FerryProcess ferry = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml");
            workload.start();
            try {
                awaitStderr(ferry, "Snapshot of public.big finished", 120);
            } finally {
                running.set(false);
                workload.join();
            }
            long onSource = tupleReads(db) - before; // before the replay check reads the table itself
            awaitReplay(db, ferry);
            ferry.terminate();
            assertThat(ferry.waitFor()).as(ferry.stderr()).isZero();
            System.out.printf("ChunkedSnapshotIT: %,d rows read from a standby while the workload made %,d changes; "
                    + "%,d rows read on the source (the workload's own)%n", rows, changes.get(), onSource);
            assertThat(changes.get()).isPositive();
            assertThat(onSource).as("the chunks were not read on the source").isLessThan(rows / 4);
        }
    }

    @Test
    void aStandbyFallingBehindSlowsTheSnapshotUntilItCatchesUp() throws Exception {
        String db = "lagging";
        int rows = 40_000;
        createTable(db, rows);
        pg.execute(db, "CREATE TABLE ballast (id bigserial PRIMARY KEY, pad text)");
        try (TestingPostgres standby = pg.startStandby()) {
            standby.execute("postgres", "SELECT pg_wal_replay_pause()");
            writePipeline(db, "  tables: [public.big]\n  snapshot: chunked\n  snapshot_chunk_rows: 500\n"
                    + "  snapshot_max_replica_lag_mb: 1\n");
            AtomicBoolean running = new AtomicBoolean(true);
            // WAL the paused standby does not replay: about 1 MB every 100 ms
            Thread writer = new Thread(() -> {
                while (running.get()) {
                    pg.execute(db, "INSERT INTO ballast (pad) SELECT repeat(md5(g::text), 8) FROM generate_series(1, 4000) g");
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "ballast");
            writer.start();
            FerryProcess ferry;
            try {
                // the standby beyond the limit before the snapshot starts: on a loaded machine the 40,000
                // rows were all read (in 7 s) before the ballast took it there, and the wait below timed out
                awaitReplayLag(db, 2 * 1024 * 1024);
                ferry = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml");
                awaitStderr(ferry, "falling further behind: the snapshot slows down", 120);
                standby.execute("postgres", "SELECT pg_wal_replay_resume()");
                awaitStderr(ferry, "The standbys keep up again", 120);
                awaitStderr(ferry, "Snapshot of public.big finished", 240);
            } finally {
                running.set(false);
                writer.join();
            }
            awaitReplay(db, ferry);
            ferry.terminate();
            assertThat(ferry.waitFor()).as(ferry.stderr()).isZero();
        }
    }

    @Test
    void aReplicaThatIsNotAStandbyStopsTheSnapshotWithTheReasonAndTheBatchRunFails() throws Exception {
        String db = "notstandby";
        createTable(db, 1_000);
        // the source itself given as the replica: reading there would skip the wait for its replay
        writePipeline(db, "  snapshot: chunked\n  snapshot_replica: 127.0.0.1:" + pg.port() + "\n");
        FerryProcess ferry = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        // a batch run that leaves a table half read has not caught up: it must not exit 0 (it did)
        assertThat(ferry.waitFor()).as(ferry.stderr()).isEqualTo(2);
        assertThat(ferry.stderr()).contains("The snapshot of public.big stopped")
                .contains("the snapshot of a table stopped: public.big: ").contains("snapshot_replica is not a standby")
                .contains("ferry snapshot -c FILE --table T").contains("--cancel");
        FerryProcess status = FerryProcess.start(dir, env(), "status", "-c", "pipeline.yaml");
        assertThat(status.waitFor()).as(status.stderr()).isZero();
        assertThat(status.stdout()).contains("STOPPED").contains("not a standby");
        // the cause fixed, the table requested again: the request replaces the stopped snapshot, and the run ends well
        writePipeline(db, "  snapshot: chunked\n");
        FerryProcess request = FerryProcess.start(dir, env(), "snapshot", "-c", "pipeline.yaml", "--table", "public.big");
        assertThat(request.waitFor()).as(request.stderr()).isZero();
        FerryProcess again = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(again.waitFor()).as(again.stderr()).isZero();
        assertThat(again.stderr()).contains("replaces the one that stopped").contains("Snapshot of public.big finished");
        try (Connection c = pg.connect(db)) {
            assertThat(ReplayVerifier.verify(dir.resolve("out"), c, List.of("public.big")).problems()).isEmpty();
        }
    }

    @Test
    void aSnapshotStoppedByAServerErrorFailsTheBatchRunWithExit1AndIsForgottenOrCancelled() throws Exception {
        String db = "stoppedjobs";
        createTable(db, 1_000);
        pg.execute(db, "CREATE TABLE other (id bigint PRIMARY KEY, v text)",
                "INSERT INTO other SELECT g, 'x' FROM generate_series(1, 100) g",
                // a server error while reading, as a full disk on the source gives it
                "CREATE FUNCTION disk_full(id bigint) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN IF id > 50 THEN "
                        + "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; "
                        + "END IF; RETURN true; END $$");
        writePipeline(db, "  snapshot: chunked\n");
        FerryProcess first = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(first.waitFor()).as(first.stderr()).isZero();
        for (String table : List.of("public.big", "public.other")) {
            FerryProcess request = FerryProcess.start(dir, env(), "snapshot", "-c", "pipeline.yaml", "--table", table,
                    "--where", "disk_full(id)");
            assertThat(request.waitFor()).as(request.stderr()).isZero();
        }
        FerryProcess failing = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        // a runtime failure on the server, not a configuration problem: exit 1 (it was 2)
        assertThat(failing.waitFor()).as(failing.stderr()).isEqualTo(1);
        assertThat(failing.stderr()).contains("the snapshot of 2 tables stopped").contains("No space left on device")
                .contains("ferry snapshot -c FILE --table T --cancel");

        // other removed from tables: its stopped snapshot is forgotten (a request for it would be refused)
        writePipeline(db, "  tables: [public.big]\n  snapshot: chunked\n");
        FerryProcess refused = FerryProcess.start(dir, env(), "snapshot", "-c", "pipeline.yaml", "--table", "public.other");
        assertThat(refused.waitFor()).isEqualTo(2);
        FerryProcess narrowed = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(narrowed.waitFor()).as(narrowed.stderr()).isEqualTo(1);
        assertThat(narrowed.stderr()).contains("Forgetting the stopped snapshot of public.other")
                .contains("the snapshot of a table stopped: public.big where disk_full(id): ");

        // big given up explicitly: the next run ends well
        FerryProcess cancel = FerryProcess.start(dir, env(), "snapshot", "-c", "pipeline.yaml", "--table", "public.big",
                "--cancel");
        assertThat(cancel.waitFor()).as(cancel.stderr()).isZero();
        assertThat(cancel.stdout()).contains("Snapshot of public.big cancelled: stopped (").contains("No space left");
        FerryProcess again = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(again.waitFor()).as(again.stderr()).isZero();
        assertThat(again.stderr()).contains("Snapshot of public.big cancelled");
        FerryProcess nothing = FerryProcess.start(dir, env(), "snapshot", "-c", "pipeline.yaml", "--table", "public.big",
                "--cancel");
        assertThat(nothing.waitFor()).isEqualTo(2);
        assertThat(nothing.stderr()).contains("There is no snapshot of public.big to cancel");
    }

    /** Waits until the source's standbys replay more than {@code bytes} of WAL behind it (as the snapshot's probe sees it). */
    private static void awaitReplayLag(String db, long bytes) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
            while (true) {
                try (ResultSet rs = s.executeQuery("SELECT coalesce(max(pg_current_wal_lsn() - replay_lsn), 0)::bigint "
                        + "FROM pg_stat_replication")) {
                    rs.next();
                    if (rs.getLong(1) > bytes) {
                        return;
                    }
                    assertThat(System.currentTimeMillis()).as("the standby's replay lag, " + rs.getLong(1) + " bytes")
                            .isLessThan(deadline);
                }
                Thread.sleep(100);
            }
        }
    }

    /** Rows of big read on the source so far (index and sequential scans), from its statistics. */
    private static long tupleReads(String db) throws SQLException {
        try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
            s.execute("SELECT pg_stat_clear_snapshot()");
            try (ResultSet rs = s.executeQuery("SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) "
                    + "FROM pg_stat_user_tables WHERE relname = 'big'")) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @Test
    void tablesWithoutAKeyAreCopiedFromTheSlotsSnapshotAndTheOthersInChunks() throws Exception {
        String db = "mixed";
        createTable(db, 20_000);
        // no key, and rows that repeat: a chunk could not be reconciled with the stream by key
        pg.execute(db, "CREATE TABLE lines (at int, line text)", "ALTER TABLE lines REPLICA IDENTITY FULL",
                "INSERT INTO lines SELECT g % 100, 'line ' || (g % 1500) FROM generate_series(1, 3000) g");
        writePipeline(db, "  snapshot: chunked\n  snapshot_chunk_rows: 2000\n");
        FerryProcess ferry = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml", "--once");
        assertThat(ferry.waitFor()).as(ferry.stderr()).isZero();
        assertThat(ferry.stderr()).contains("Tables without a key [public.lines] are copied first")
                .contains("Snapshot of public.big finished");
        try (Connection c = pg.connect(db)) {
            assertThat(ReplayVerifier.verify(dir.resolve("out"), c, List.of("public.big")).problems()).isEmpty();
        }
        Map<String, Integer> copied = new HashMap<>();
        try (Stream<Path> files = Files.list(dir.resolve("out/public.lines"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    JsonNode e = MAPPER.readTree(line);
                    assertThat(e.get("op").asText()).isEqualTo("r");
                    assertThat(e.get("source").get("snapshot").asBoolean()).as("from the slot's snapshot").isTrue();
                    copied.merge(e.get("after").get("at").asInt() + "/" + e.get("after").get("line").asText(), 1,
                            Integer::sum);
                }
            }
        }
        Map<String, Integer> source = new HashMap<>();
        try (Connection c = pg.connect(db); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT at, line FROM lines")) {
            while (rs.next()) {
                source.merge(rs.getInt(1) + "/" + rs.getString(2), 1, Integer::sum);
            }
        }
        assertThat(copied).as("every row once, duplicates included").isEqualTo(source);
    }

    @Test
    void ferrySnapshotRereadsOneTableWhileStreaming() throws Exception {
        String db = "reread";
        createTable(db, 5_000);
        writePipeline(db, "");
        FerryProcess ferry = FerryProcess.start(dir, env(), "run", "-c", "pipeline.yaml");
        awaitReplay(db, ferry);
        FerryProcess bad = FerryProcess.start(dir, env(), "snapshot", "-c", "pipeline.yaml", "--table", "public.big",
                "--where", "no_such_column > 1");
        assertThat(bad.waitFor()).isEqualTo(2);
        assertThat(bad.stderr()).contains("does not work on public.big").contains("no_such_column");

        // --follow stays until the running pipeline has read the rows, then exits 0
        FerryProcess request = FerryProcess.start(dir, env(), "snapshot", "-c", "pipeline.yaml", "--table", "public.big",
                "--where", "id <= 1000", "--follow");
        assertThat(request.waitFor()).as(request.stderr()).isZero();
        assertThat(request.stdout()).contains("Snapshot of public.big where id <= 1000 requested").contains("Snapshot done.");
        awaitStderr(ferry, "Snapshot of public.big finished", 60);
        awaitReplay(db, ferry);
        Map<Long, Integer> reads = readsById();
        assertThat(reads.entrySet().stream().filter(e -> e.getKey() <= 1000).allMatch(e -> e.getValue() == 2))
                .as("rows up to 1000 read by the initial snapshot and again").isTrue();
        assertThat(reads.entrySet().stream().filter(e -> e.getKey() > 1000).allMatch(e -> e.getValue() == 1)).isTrue();
        pg.execute(db, "UPDATE big SET v = 'after' WHERE id % 10 = 0");
        awaitReplay(db, ferry);
        FerryProcess status = FerryProcess.start(dir, env(), "status", "-c", "pipeline.yaml");
        assertThat(status.waitFor()).as(status.stderr()).isZero();
        ferry.terminate();
        assertThat(ferry.waitFor()).as(ferry.stderr()).isZero();
    }

    private static void createTable(String db, int rows) {
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE big (id bigint PRIMARY KEY, v text, n int)",
                "INSERT INTO big SELECT g, md5(g::text), g % 100 FROM generate_series(1, " + rows + ") g", "ANALYZE big");
    }

    private void writePipeline(String db, String extraSource) throws IOException {
        Files.writeString(dir.resolve("pipeline.yaml"), "name: " + db + "\nsource:\n  type: postgres\n  port: " + pg.port()
                + "\n  database: " + db + "\n  user: " + pg.user() + "\n  password: ${env:PW}\n" + extraSource
                + "sink:\n  type: jsonl\n  path: out\n");
    }

    private static Map<String, String> env() {
        return Map.of("PW", pg.password());
    }

    /** Updates, deletes and inserts at random keys of the table being snapshotted. */
    private static void workload(String db, AtomicBoolean running, AtomicLong changes) {
        Random random = new Random(11);
        long nextId = ROWS + 1;
        try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
            while (running.get()) {
                long id = 1 + random.nextInt(ROWS);
                switch (random.nextInt(3)) {
                    case 0 -> s.execute("UPDATE big SET v = 'changed " + changes.get() + "', n = n + 1 WHERE id = " + id);
                    case 1 -> s.execute("DELETE FROM big WHERE id = " + id);
                    default -> s.execute("INSERT INTO big VALUES (" + nextId++ + ", 'new', 0)");
                }
                changes.incrementAndGet();
                Thread.sleep(2);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The age of the oldest open transaction of Ferry's sessions, sampled every 100 ms. */
    private static void watchTransactions(String db, AtomicBoolean running, AtomicLong longestMillis, AtomicLong seen) {
        try (Connection c = pg.connect(db); Statement s = c.createStatement()) {
            while (running.get()) {
                // every client session of the database but the test's own (the testkit names its sessions)
                try (ResultSet rs = s.executeQuery("SELECT COALESCE(max(extract(epoch FROM clock_timestamp() - xact_start)) "
                        + "* 1000, 0), count(*) FROM pg_stat_activity WHERE datname = '" + db + "' AND application_name <> "
                        + "'ferry-testkit' AND backend_type = 'client backend'")) {
                    rs.next();
                    longestMillis.accumulateAndGet((long) rs.getDouble(1), Math::max);
                    seen.addAndGet(rs.getLong(2));
                }
                Thread.sleep(100);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitStderr(FerryProcess ferry, String text, int seconds) throws InterruptedException {
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        while (!ferry.stderr().contains(text)) {
            assertThat(ferry.isAlive()).as("ferry stopped: " + ferry.stderr()).isTrue();
            assertThat(System.currentTimeMillis()).as("waiting for '" + text + "': " + ferry.stderr()).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private void awaitReplay(String db, FerryProcess ferry) throws Exception {
        awaitReplay(db, ferry, "public.big");
    }

    private void awaitReplay(String db, FerryProcess ferry, String table) throws Exception {
        ReplayVerifier.Result result = null;
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline) {
            assertThat(ferry.isAlive()).as("ferry stopped: " + ferry.stderr()).isTrue();
            try (Connection c = pg.connect(db)) {
                result = ReplayVerifier.verify(dir.resolve("out"), c, List.of(table));
            }
            if (result.ok()) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("replay check still failing: " + result + "\n" + ferry.stderr());
    }

    /** How many times each id arrived as a read (op r). */
    private Map<Long, Integer> readsById() throws IOException {
        Map<Long, Integer> out = new HashMap<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir.resolve("out/public.big"))) {
            files = s.filter(p -> p.toString().endsWith(".jsonl")).sorted().toList();
        }
        for (Path f : files) {
            for (String line : Files.readAllLines(f)) {
                JsonNode e = MAPPER.readTree(line);
                if (e.get("op").asText().equals("r")) {
                    out.merge(e.get("after").get("id").asLong(), 1, Integer::sum);
                }
            }
        }
        return out;
    }
}
