package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

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
}
