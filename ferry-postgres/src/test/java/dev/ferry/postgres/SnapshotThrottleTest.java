package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SnapshotThrottleTest {
    @Test
    void aChunkWaitsItsShareOfTheRate() {
        SnapshotThrottle t = new SnapshotThrottle(10_000);
        long now = 1_000_000_000L;
        assertThat(t.mayRead(now)).isTrue();
        t.chunkRead(5_000, now);
        assertThat(t.mayRead(now + 499_000_000L)).as("5,000 rows at 10,000/s take half a second").isFalse();
        assertThat(t.mayRead(now + 500_000_000L)).isTrue();
        t.chunkRead(0, now);
        assertThat(t.mayRead(now + 100_001L)).as("an empty chunk still counts as one row").isTrue();
    }

    @Test
    void noCapNeverWaits() {
        SnapshotThrottle t = new SnapshotThrottle(0);
        t.chunkRead(1_000_000, 0);
        assertThat(t.mayRead(0)).isTrue();
    }

    private static final long MS = 1_000_000L;

    /** Probes every 50 ms from {@code from} for {@code millis}, each taking {@code latencyMs}. */
    private static void probe(SnapshotThrottle t, long from, long millis, double latencyMs) {
        for (long at = from; at < from + millis * MS; at += 50 * MS) {
            t.probed((long) (latencyMs * MS), 0, at);
        }
    }

    /** The first pause, its probes at 0.4 ms; returns when it ended. */
    private static long firstPause(SnapshotThrottle t) {
        return firstPause(t, 0, new long[1]);
    }

    /** A second of reading with probes taking {@code latencyMs}, then the throttle's review; returns its end. */
    private static long second(SnapshotThrottle t, long from, double latencyMs) {
        probe(t, from, 1_000, latencyMs);
        heldBack(t, from);
        t.mayRead(from + 1_000 * MS);
        return from + 1_000 * MS;
    }

    /** A chunk handed out at {@code from} holds the next one back: the rate is what limits the snapshot. */
    private static void heldBack(SnapshotThrottle t, long from) {
        t.chunkRead(1_000_000, from);
        t.mayRead(from + 500 * MS);
    }

    @Test
    void adaptivePacingStartsWithAPauseThatSetsTheBaseline() {
        SnapshotThrottle t = new SnapshotThrottle(0, true, 1_000);
        firstPause(t);
        assertThat(t.rate()).as("a modest start: 16 chunks a second").isEqualTo(16_000);
    }

    @Test
    void adaptivePacingSpeedsUpWhileTheProbeStaysNearItsBaselineAndSlowsDownWhenItRises() {
        SnapshotThrottle t = new SnapshotThrottle(0, true, 1_000);
        long now = firstPause(t);
        now = second(t, now, 0.45);
        assertThat(t.rate()).as("a quiet source: half again as fast each second").isEqualTo(24_000);
        now = second(t, now, 0.7);
        assertThat(t.rate()).as("near the limit: kept").isEqualTo(24_000);
        now = second(t, now, 2.0);
        assertThat(t.rate()).as("2 ms against 0.4 ms in the pause: 30% slower").isEqualTo(24_000 * 0.7);
        for (int i = 0; i < 12; i++) {
            // the pauses stay quiet: the load is the snapshot's
            for (long at = now; at < now + 1_000 * MS; at += 50 * MS) {
                t.probed((long) ((t.pausing(at) ? 0.4 : 5.0) * MS), 0, at);
            }
            heldBack(t, now);
            now += 1_000 * MS;
            t.mayRead(now);
        }
        assertThat(t.rate()).as("never below a chunk a second").isEqualTo(1_000);
    }

    @Test
    void aSourceAsSlowInThePausesAsWhileReadingIsNotSlowedByTheSnapshot() {
        SnapshotThrottle t = new SnapshotThrottle(0, true, 1_000);
        long now = firstPause(t);
        for (int i = 0; i < 4; i++) {
            now = second(t, now, 5.0);
        }
        assertThat(t.rate()).isLessThan(8_000);
        // the next pauses see 5 ms too: once they outnumber the first, the load is someone else's and
        // the rate recovers
        double lowest = t.rate();
        for (int i = 0; i < 16; i++) {
            now = second(t, now, 5.0);
            lowest = Math.min(lowest, t.rate());
        }
        assertThat(t.rate()).isGreaterThan(lowest * 1.5);
    }

    @Test
    void adaptivePacingPausesEveryCycleAndNeverExceedsTheCap() {
        SnapshotThrottle t = new SnapshotThrottle(10_000, true, 1_000);
        long now = firstPause(t);
        for (int i = 0; i < 4; i++) {
            now = second(t, now, 0.4);
        }
        assertThat(t.rate()).isEqualTo(10_000);
        long pause = (SnapshotThrottle.PAUSE_MILLIS + SnapshotThrottle.CYCLE_MILLIS) * MS;
        assertThat(t.mayRead(pause)).as("the next pause").isFalse();
        assertThat(t.pausing(pause + (SnapshotThrottle.PAUSE_MILLIS - 1) * MS)).isTrue();
        assertThat(t.pausing(pause + SnapshotThrottle.PAUSE_MILLIS * MS)).isFalse();
    }

    /** A second of reading, quiet probes, the standbys' replay lag moving from {@code fromLag} to {@code toLag} bytes. */
    private static long lagging(SnapshotThrottle t, long from, long fromLag, long toLag) {
        int probes = 20;
        for (int i = 0; i < probes; i++) {
            t.probed((long) (0.4 * MS), 0, fromLag + (toLag - fromLag) * i / (probes - 1), from + i * 50 * MS);
        }
        heldBack(t, from);
        t.mayRead(from + 1_000 * MS);
        return from + 1_000 * MS;
    }

    @Test
    void aStandbyFallingFurtherBehindThanTheLimitSlowsTheSnapshotAndASteadyOneDoesNot() {
        long mb = 1024 * 1024;
        SnapshotThrottle t = new SnapshotThrottle(0, true, 1_000, 64 * mb);
        assertThat(t.watchesReplicas()).isTrue();
        long now = firstPause(t);
        now = lagging(t, now, 0, 2 * mb);
        assertThat(t.rate()).as("a standby that keeps up: faster").isEqualTo(24_000);
        now = lagging(t, now, 2 * mb, 80 * mb);
        assertThat(t.replicaLagging()).isTrue();
        assertThat(t.rate()).as("80 MB behind and growing: 30% slower").isEqualTo(24_000 * 0.7);
        now = lagging(t, now, 80 * mb, 70 * mb);
        assertThat(t.replicaLagging()).as("catching up").isFalse();
        assertThat(t.rate()).as("no longer growing: faster again").isEqualTo(24_000 * 0.7 * 1.5);
        now = lagging(t, now, 70 * mb, 60 * mb);
        now = lagging(t, now, 60 * mb, 63 * mb);
        assertThat(t.rate()).as("growing again, above half the limit though below it: kept")
                .isEqualTo(24_000 * 0.7 * 1.5 * 1.5);
        for (int i = 0; i < 3; i++) {
            now = lagging(t, now, 500 * mb, 500 * mb);
        }
        assertThat(t.rate()).as("far behind but steady (a delayed standby): not slower")
                .isGreaterThan(24_000 * 0.7 * 1.5 * 1.5);

        SnapshotThrottle unwatched = new SnapshotThrottle(0, true, 1_000, 0);
        long later = firstPause(unwatched);
        later = lagging(unwatched, later, 0, 2 * mb);
        lagging(unwatched, later, 100 * mb, 900 * mb);
        assertThat(unwatched.rate()).as("0: standbys not watched").isEqualTo(36_000);
    }

    @Test
    void adaptivePacingChargesAWholeChunkForAChunkOfFewWideRows() {
        SnapshotThrottle t = new SnapshotThrottle(0, true, 1_000);
        long now = firstPause(t);
        t.chunkRead(4, now);
        assertThat(t.mayRead(now + 62 * MS)).as("16 chunks a second, whatever their rows").isFalse();
        assertThat(t.mayRead(now + 63 * MS)).isTrue();
    }

    @Test
    void withoutAProbeOnlyTheCapPaces() {
        SnapshotThrottle t = new SnapshotThrottle(10_000, true, 1_000);
        t.withoutProbe();
        assertThat(t.adaptive()).isFalse();
        assertThat(t.mayRead(0)).isTrue();
        assertThat(t.rate()).isEqualTo(10_000);
    }

    /** A second of reading while the source writes {@code bytesPerSecond} (and in the pauses {@code pauseRate}). */
    private static long writing(SnapshotThrottle t, long from, double bytesPerSecond, double pauseRate, long[] wal) {
        for (long at = from; at < from + 1_000 * MS; at += 50 * MS) {
            wal[0] += (long) ((t.pausing(at) ? pauseRate : bytesPerSecond) * 0.05);
            t.probed((long) (0.4 * MS), wal[0], at);
        }
        heldBack(t, from);
        t.mayRead(from + 1_000 * MS);
        return from + 1_000 * MS;
    }

    /** The first pause while the source writes {@code bytesPerSecond}; returns when it ended. */
    private static long firstPause(SnapshotThrottle t, double bytesPerSecond, long[] wal) {
        assertThat(t.mayRead(0)).as("the first pause: a baseline before any chunk").isFalse();
        for (long at = 0; at < SnapshotThrottle.PAUSE_MILLIS * MS; at += 50 * MS) {
            wal[0] += (long) (bytesPerSecond * 0.05);
            t.probed((long) (0.4 * MS), wal[0], at);
        }
        long end = SnapshotThrottle.PAUSE_MILLIS * MS;
        assertThat(t.mayRead(end)).isTrue();
        return end;
    }

    @Test
    void adaptivePacingSlowsDownWhenTheSourceWritesLessWhileReadingThanInThePauses() {
        SnapshotThrottle t = new SnapshotThrottle(0, true, 1_000);
        long[] wal = {1L << 30};
        long now = firstPause(t, 1_000_000, wal);
        now = writing(t, now, 1_000_000, 1_000_000, wal);
        assertThat(t.rate()).as("writers keep their pace: faster").isEqualTo(24_000);
        now = writing(t, now, 970_000, 1_000_000, wal);
        assertThat(t.rate()).as("writers lose 3%: kept").isEqualTo(24_000);
        writing(t, now, 900_000, 1_000_000, wal);
        assertThat(t.rate()).as("writers lose 10% while reading: slower").isEqualTo(24_000 * 0.7);
    }

    @Test
    void aSourceWritingLittleGivesNoWriteSignal() {
        SnapshotThrottle t = new SnapshotThrottle(0, true, 1_000);
        long[] wal = {1L << 30};
        long now = firstPause(t, 60_000, wal);
        writing(t, now, 20_000, 60_000, wal);
        assertThat(t.rate()).as("60 kB/s is too little to tell; the latency is fine").isEqualTo(24_000);
    }

    @Test
    void aRateTheSnapshotDoesNotReachIsNotRaised() {
        SnapshotThrottle t = new SnapshotThrottle(0, true, 1_000);
        long now = firstPause(t);
        for (int i = 0; i < 4; i++) {
            // the source answers slower than the rate allows: nothing is held back
            probe(t, now, 1_000, 0.4);
            now += 1_000 * MS;
            t.mayRead(now);
        }
        assertThat(t.rate()).as("no wind-up: load that appears later is met at once").isEqualTo(16_000);
    }

    @Test
    void aCapBelowOneChunkASecondHoldsWhenSlowingDown() {
        SnapshotThrottle t = new SnapshotThrottle(100, true, 1_000);
        long now = firstPause(t);
        assertThat(t.rate()).isEqualTo(100);
        now = second(t, now, 5.0);
        assertThat(t.rate()).isEqualTo(100);
        second(t, now, 0.4);
        assertThat(t.rate()).isEqualTo(100);
    }
}
