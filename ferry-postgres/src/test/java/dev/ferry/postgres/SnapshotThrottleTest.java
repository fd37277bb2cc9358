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
}
