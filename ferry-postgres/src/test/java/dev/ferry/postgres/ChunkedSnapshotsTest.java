package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ChunkedSnapshotsTest {
    @Test
    void theTransactionsInProgressOfASnapshotKeepTheirLow32Bits() {
        assertThat(ChunkedSnapshots.inProgress("100:105:")).isEmpty();
        assertThat(ChunkedSnapshots.inProgress("100:105:101,103")).containsExactlyInAnyOrder(101L, 103L);
        // xid8 carries the epoch in its high bits; pgoutput's xids are 32-bit
        assertThat(ChunkedSnapshots.inProgress("4294967396:4294967400:4294967397")).containsExactly(101L);
    }
}
