package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StreamedTransactionsTest {
    @TempDir
    Path dir;

    @Test
    void aCommittedTransactionIsReadBackInOrderWithoutItsAbortedSubtransactions() throws Exception {
        try (StreamedTransactions spills = new StreamedTransactions(dir)) {
            spills.start(10, true);
            spills.append(10, 10, message("a"));
            spills.append(10, 11, message("b"));
            spills.start(20, true); // another transaction's block in between
            spills.append(20, 20, message("other"));
            spills.start(10, false);
            spills.append(10, 12, message("c"));
            spills.append(10, 10, message("d"));
            spills.abort(10, 11);
            spills.abort(20, 20);
            assertThat(spills.inProgress()).isEqualTo(1);

            List<String> read = new ArrayList<>();
            try (StreamedTransactions.Replay replay = spills.commit(10)) {
                for (ByteBuffer b = replay.next(); b != null; b = replay.next()) {
                    read.add(StandardCharsets.UTF_8.decode(b).toString());
                }
                assertThat(replay.messages()).isEqualTo(4);
            }
            assertThat(read).containsExactly("a", "c", "d");
            assertThat(spills.inProgress()).isZero();
        }
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left).as("every file is deleted: read back, or aborted").isEmpty();
        }
    }

    @Test
    void aLaterBlockWithoutTheFirstOrACommitWithoutChangesIsAnErrorNotASilentLoss() {
        try (StreamedTransactions spills = new StreamedTransactions(dir)) {
            assertThatThrownBy(() -> spills.start(5, false)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("first block");
            assertThatThrownBy(() -> spills.commit(6)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("none of its changes");
            spills.abort(7, 7); // an abort of a transaction never streamed is nothing to do
        }
    }

    @Test
    void filesOfAnEarlierRunAreDeletedAndCloseDeletesOpenSpills() throws Exception {
        Files.writeString(dir.resolve("tx-99.spill"), "left by a killed run");
        Files.writeString(dir.resolve("keep.txt"), "not ours");
        StreamedTransactions spills = new StreamedTransactions(dir);
        assertThat(dir.resolve("tx-99.spill")).doesNotExist();
        spills.start(1, true);
        spills.append(1, 1, ByteBuffer.wrap(new byte[] {1, 2, 3}, 1, 2)); // a slice: position and offset honoured
        assertThat(dir.resolve("tx-1.spill")).exists();
        spills.close();
        assertThat(dir.resolve("tx-1.spill")).doesNotExist();
        assertThat(dir.resolve("keep.txt")).exists();
    }

    private static ByteBuffer message(String text) {
        return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
    }
}
