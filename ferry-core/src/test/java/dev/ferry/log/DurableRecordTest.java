package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The record kept in two slots written in turn: read back after reopening, and after a torn write. */
class DurableRecordTest {
    @TempDir
    Path dir;

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private Optional<String> reopened() throws IOException {
        try (DurableRecord r = DurableRecord.open(dir, "offset.json")) {
            return r.read().map(b -> new String(b, StandardCharsets.UTF_8));
        }
    }

    @Test
    void nothingWrittenReadsEmpty() throws Exception {
        assertThat(reopened()).isEmpty();
    }

    @Test
    void theLastWriteIsReadBackAndSlotsAreReusedInPlace() throws Exception {
        try (DurableRecord r = DurableRecord.open(dir, "offset.json")) {
            for (int i = 0; i < 50; i++) {
                r.write(bytes("{\"offset\":" + i + "}"));
            }
            r.write(bytes("short"));
            assertThat(r.read()).hasValueSatisfying(b -> assertThat(new String(b, StandardCharsets.UTF_8)).isEqualTo("short"));
        }
        assertThat(reopened()).contains("short");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("offset.json.a", "offset.json.b");
        }
    }

    @Test
    void aWriteCutShortLeavesTheRecordBeforeIt() throws Exception {
        try (DurableRecord r = DurableRecord.open(dir, "offset.json")) {
            r.write(bytes("first"));
            r.write(bytes("second"));
            r.write(bytes("third")); // slot a again
        }
        // the next write goes to slot b: cut it short in the middle of the payload, then flip a bit
        Path b = dir.resolve("offset.json.b");
        byte[] whole = ("ferry-record 1 4 6 0\nfourth").getBytes(StandardCharsets.US_ASCII);
        Files.write(b, java.util.Arrays.copyOf(whole, whole.length - 3));
        assertThat(reopened()).contains("third");
        Files.write(b, whole); // whole but with a wrong checksum
        assertThat(reopened()).contains("third");
    }

    @Test
    void theEarlierWholeFileIsReadUntilTheFirstWriteRemovesIt() throws Exception {
        Files.writeString(dir.resolve("offset.json"), "{\"offset\":7}");
        assertThat(reopened()).contains("{\"offset\":7}");
        try (DurableRecord r = DurableRecord.open(dir, "offset.json")) {
            r.write(bytes("{\"offset\":8}"));
        }
        assertThat(dir.resolve("offset.json")).doesNotExist();
        assertThat(reopened()).contains("{\"offset\":8}");
    }

    @Test
    void bothSlotsDamagedIsAnErrorNotAnEmptyRecord() throws Exception {
        try (DurableRecord r = DurableRecord.open(dir, "offset.json")) {
            r.write(bytes("first"));
            r.write(bytes("second"));
        }
        for (String slot : new String[] {"offset.json.a", "offset.json.b"}) {
            byte[] b = Files.readAllBytes(dir.resolve(slot));
            b[b.length - 1] ^= 1;
            Files.write(dir.resolve(slot), b);
        }
        assertThatThrownBy(this::reopened).isInstanceOf(IOException.class).hasMessageContaining("damaged");
    }
}
