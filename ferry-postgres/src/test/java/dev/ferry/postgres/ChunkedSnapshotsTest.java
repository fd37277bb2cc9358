package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.error.ErrorKind;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.TableId;
import dev.ferry.log.DurableRecord;
import dev.ferry.source.StoppedSnapshot;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkedSnapshotsTest {
    @Test
    void theTransactionsInProgressOfASnapshotKeepTheirLow32Bits() {
        assertThat(ChunkedSnapshots.Invisible.parse("100:105:").inProgress()).isEmpty();
        assertThat(ChunkedSnapshots.Invisible.parse("100:105:101,103").inProgress()).containsExactlyInAnyOrder(101L, 103L);
        // xid8 carries the epoch in its high bits; pgoutput's xids are 32-bit
        assertThat(ChunkedSnapshots.Invisible.parse("4294967396:4294967400:4294967397").inProgress()).containsExactly(101L);
    }

    @Test
    void aSnapshotCannotSeeTransactionsInProgressNorThoseAtOrBeyondItsXmax() {
        ChunkedSnapshots.Invisible s = ChunkedSnapshots.Invisible.parse("100:105:101,103");
        assertThat(s.contains(101)).isTrue();
        assertThat(s.contains(102)).as("completed before the snapshot").isFalse();
        assertThat(s.contains(105)).as("the snapshot's xmax: not yet completed").isTrue();
        assertThat(s.contains(200)).isTrue();
        assertThat(s.contains(99)).isFalse();
        // near the 32-bit wrap-around, xid 5 comes after 4294967290
        ChunkedSnapshots.Invisible wrapped = ChunkedSnapshots.Invisible.parse("8589934580:8589934590:");
        assertThat(wrapped.xmax()).isEqualTo(4294967294L);
        assertThat(wrapped.contains(5)).isTrue();
        assertThat(wrapped.contains(4294967280L)).isFalse();
    }

    private static final TableId KEYLESS = new TableId("public", "keyless");
    private static final TableId FULL_DISK = new TableId("public", "full_disk");
    private static final TableId REPLICA = new TableId("public", "replica");

    /** Progress as an earlier run left it: three stopped jobs, by Ferry (no key) and by SQL errors. */
    private static void stoppedJobs(Path folder) throws Exception {
        try (DurableRecord progress = DurableRecord.open(folder, "progress.json")) {
            progress.write(("{\"jobs\":["
                    + "{\"id\":\"a\",\"schema\":\"public\",\"table\":\"keyless\",\"chunks\":1,\"rows\":10,"
                    + "\"failed\":\"it has no primary key\"},"
                    + "{\"id\":\"b\",\"schema\":\"public\",\"table\":\"full_disk\",\"chunks\":1,\"rows\":10,"
                    + "\"failed\":\"could not write to file: No space left on device\",\"failed_state\":\"53100\"},"
                    + "{\"id\":\"c\",\"schema\":\"public\",\"table\":\"replica\",\"chunks\":0,\"rows\":0,"
                    + "\"failed\":\"snapshot_replica is not a standby\",\"failed_state\":\"55000\"}]}")
                    .getBytes(StandardCharsets.UTF_8));
        }
    }

    private static ChunkedSnapshots open(Path folder) {
        return new ChunkedSnapshots(folder, "ferry", 100, new SnapshotThrottle(0), 1, () -> {
            throw new IllegalStateException("no database in this test");
        }, null);
    }

    @Test
    void aStopByARuntimeErrorIsNoPrerequisiteProblem() throws Exception {
        assertThat(ChunkedSnapshots.stopKind(null)).isEqualTo(ErrorKind.PREREQUISITE);
        assertThat(ChunkedSnapshots.stopKind("42501")).as("permission denied").isEqualTo(ErrorKind.PREREQUISITE);
        assertThat(ChunkedSnapshots.stopKind("55000")).isEqualTo(ErrorKind.PREREQUISITE);
        assertThat(ChunkedSnapshots.stopKind("53100")).as("disk full").isEqualTo(ErrorKind.INTERNAL);
        assertThat(ChunkedSnapshots.stopKind("XX000")).isEqualTo(ErrorKind.INTERNAL);
        assertThat(ChunkedSnapshots.stopKind("22012")).isEqualTo(ErrorKind.INTERNAL);
    }

    @Test
    void stoppedJobsKeepTheKindOfWhatStoppedThem(@TempDir Path folder) throws Exception {
        stoppedJobs(folder);
        try (ChunkedSnapshots snapshots = open(folder)) {
            assertThat(snapshots.stopped()).containsExactly(
                    new StoppedSnapshot("public.keyless: it has no primary key", ErrorKind.PREREQUISITE),
                    new StoppedSnapshot("public.full_disk: could not write to file: No space left on device",
                            ErrorKind.INTERNAL),
                    new StoppedSnapshot("public.replica: snapshot_replica is not a standby", ErrorKind.PREREQUISITE));
        }
    }

    @Test
    void theStoppedSnapshotOfATableNoLongerCapturedIsForgotten(@TempDir Path folder) throws Exception {
        stoppedJobs(folder);
        try (ChunkedSnapshots snapshots = open(folder)) {
            // keyless was removed from tables: (or dropped); no request could clear its job any more
            snapshots.forgetStoppedBeyond(List.of(FULL_DISK, REPLICA, new TableId("public", "other")));
        }
        try (ChunkedSnapshots snapshots = open(folder)) {
            assertThat(snapshots.stopped()).extracting(StoppedSnapshot::description)
                    .noneMatch(d -> d.startsWith("public.keyless")).hasSize(2);
        }
    }

    @Test
    void aCancelRemovesTheTablesJobsAndItsRequestsNotTakenUp(@TempDir Path folder) throws Exception {
        stoppedJobs(folder);
        ChunkedSnapshots.request(folder, REPLICA, "id > 5");
        assertThat(ChunkedSnapshots.cancel(folder, new TableId("public", "nothing_here"))).isEmpty();
        assertThat(ChunkedSnapshots.cancel(folder, KEYLESS)).containsExactly("stopped (it has no primary key)");
        assertThat(ChunkedSnapshots.cancel(folder, REPLICA)).containsExactly(
                "requested, not taken up yet where id > 5", "stopped (snapshot_replica is not a standby)");
        try (ChunkedSnapshots snapshots = open(folder)) {
            snapshots.step(); // takes the cancel requests up
            assertThat(snapshots.stopped()).extracting(StoppedSnapshot::description)
                    .containsExactly("public.full_disk: could not write to file: No space left on device");
            assertThat(snapshots.idle()).isTrue();
        }
        try (ChunkedSnapshots snapshots = open(folder)) {
            assertThat(snapshots.stopped()).hasSize(1);
        }
        assertThat(ChunkedSnapshots.cancel(folder, KEYLESS)).as("nothing left to cancel").isEmpty();
    }

    private static void requestFile(Path folder, String id, TableId table, String at, boolean cancel) throws Exception {
        java.nio.file.Files.writeString(folder.resolve("request-" + id + ".json"), "{\"id\":\"" + id
                + "\",\"schema\":\"" + table.schema() + "\",\"table\":\"" + table.name() + "\",\"requested_at\":\""
                + at + "\"" + (cancel ? ",\"cancel\":true" : "") + "}");
    }

    private static boolean hasJob(Path folder, String id) throws Exception {
        try (DurableRecord progress = DurableRecord.open(folder, "progress.json")) {
            String json = new String(progress.read().orElseThrow(), StandardCharsets.UTF_8);
            return json.contains("\"id\":\"" + id + "\"");
        }
    }

    @Test
    void aCancelReadAgainLeavesTheRequestsMadeAfterIt(@TempDir Path folder) throws Exception {
        stoppedJobs(folder);
        requestFile(folder, "cancel-1", KEYLESS, "2026-01-01T00:00:01Z", true);
        requestFile(folder, "again-2", KEYLESS, "2026-01-01T00:00:02Z", false);
        String cancel = java.nio.file.Files.readString(folder.resolve("request-cancel-1.json"));
        try (ChunkedSnapshots snapshots = open(folder)) {
            snapshots.step();
        }
        assertThat(hasJob(folder, "a")).as("the stopped job, cancelled").isFalse();
        assertThat(hasJob(folder, "again-2")).isTrue();
        // a crash kept the cancel's file: read again at the next start, it must not cancel the newer request
        java.nio.file.Files.writeString(folder.resolve("request-cancel-1.json"), cancel);
        try (ChunkedSnapshots snapshots = open(folder)) {
            snapshots.step();
        }
        assertThat(hasJob(folder, "again-2")).isTrue();
    }

    @Test
    void requestsAreTakenInTheOrderOfTheirTimesNotOfTheirText(@TempDir Path folder) throws Exception {
        // Instant.toString drops a zero fraction: as text "...:00Z" sorts after "...:00.000300Z"
        requestFile(folder, "asked-1", KEYLESS, "2026-01-01T00:00:00Z", false);
        requestFile(folder, "cancel-2", KEYLESS, "2026-01-01T00:00:00.000300Z", true);
        try (ChunkedSnapshots snapshots = open(folder)) {
            snapshots.step();
        }
        assertThat(hasJob(folder, "asked-1")).as("cancelled by the cancel made after it").isFalse();
    }

    @Test
    void keyBoundsAreLiteralsOfTheKeysTypesWhateverTheirText() {
        List<Column> keys = List.of(Column.of("k", LogicalType.STRING, "text", true),
                Column.of("at", LogicalType.TIMESTAMPTZ, "timestamp with time zone", true));
        assertThat(ChunkedSnapshots.literals(keys, List.of("it's a \\x back\\slash", "2026-12-02 10:00:00+00")))
                .isEqualTo("E'it''s a \\\\x back\\\\slash'::text, E'2026-12-02 10:00:00+00'::timestamp with time zone");
    }
}
