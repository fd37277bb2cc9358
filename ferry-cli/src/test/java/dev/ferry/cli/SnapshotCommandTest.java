package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.event.TableId;
import dev.ferry.source.SnapshotProgress;
import dev.ferry.source.SnapshotProgress.State;
import org.junit.jupiter.api.Test;

class SnapshotCommandTest {
    private static final TableId ORDERS = new TableId("public", "orders");

    @Test
    void aRunningSnapshotOfKnownSizeShowsABarTheRateAndTheTimeLeft() {
        String line = SnapshotCommand.describe(new SnapshotProgress("id", ORDERS, State.RUNNING, 250_000, 62, 1_000_000,
                null), 50_000);
        assertThat(line).isEqualTo("[#######.......................] 25% 250,000 of ~1,000,000 rows, 62 chunks, "
                + "50,000 rows/s, about 0:15 left");
    }

    @Test
    void withoutAnEstimateOrARateOnlyTheCountsShow() {
        assertThat(SnapshotCommand.describe(new SnapshotProgress("id", ORDERS, State.RUNNING, 1_234, 1, -1, null), -1))
                .isEqualTo("1,234 rows, 1 chunks");
        // statistics lag behind: never more than 100%, never a negative time left
        assertThat(SnapshotCommand.describe(new SnapshotProgress("id", ORDERS, State.RUNNING, 1_500, 2, 1_000, null), 10))
                .startsWith("[##############################] 100% 1,500 of ~1,000 rows").doesNotContain("left");
    }

    @Test
    void aStoppedSnapshotSaysWhy() {
        assertThat(SnapshotCommand.describe(new SnapshotProgress("id", ORDERS, State.STOPPED, 10, 1, -1,
                "it has no primary key"), -1)).isEqualTo("Snapshot of public.orders STOPPED after 10 rows: it has no "
                + "primary key");
        assertThat(SnapshotCommand.describe(new SnapshotProgress("id", ORDERS, State.REQUESTED, 0, 0, -1, null), -1))
                .contains("Waiting for the pipeline");
    }

    @Test
    void cancelTakesNeitherAConditionNorFollow() throws Exception {
        SnapshotCommand.checkOptions(true, null, false);
        SnapshotCommand.checkOptions(false, "id > 1", true);
        assertThatThrownBy(() -> SnapshotCommand.checkOptions(true, "id > 1", false))
                .isInstanceOf(dev.ferry.error.FerryException.class).hasMessageContaining("--cancel")
                .hasMessageContaining("--where");
        assertThatThrownBy(() -> SnapshotCommand.checkOptions(true, null, true)).hasMessageContaining("--follow");
    }

    @Test
    void cancelIsAnOptionOfFerrySnapshot() {
        picocli.CommandLine cmd = new picocli.CommandLine(new SnapshotCommand());
        cmd.parseArgs("-c", "p.yaml", "--table", "public.orders", "--cancel");
        assertThat(((SnapshotCommand) cmd.getCommand()).cancel).isTrue();
        assertThat(cmd.getUsageMessage()).contains("--cancel");
    }
}
