package dev.ferry.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeliveredRowsTest {
    @TempDir
    Path dir;

    @Test
    void skipsTheRowsDeliveredWithTheSameCursorValueInReadOrder() throws Exception {
        try (DeliveredRows.Writer w = new DeliveredRows.Writer(dir, 1)) {
            w.add(CursorValues.INTEGER.encode(10L), "a");
            w.add(CursorValues.INTEGER.encode(10L), "b");
            w.add(CursorValues.INTEGER.encode(12L), "a");
            w.commit();
        }
        try (DeliveredRows.Reader r = new DeliveredRows.Reader(dir, 1, CursorValues.INTEGER)) {
            assertThat(r.delivered(10L, "a")).isTrue();
            assertThat(r.delivered(10L, "c")).isFalse();
            assertThat(r.delivered(11L, "a")).isFalse();
            assertThat(r.delivered(12L, "a")).isTrue();
            assertThat(r.delivered(12L, "b")).isFalse();
        }
    }

    /** A bulk update gives millions of rows one cursor value: the reader holds a bounded share of them. */
    @Test
    void holdsAtMostTheCapOfOneCursorValueAndSendsTheRestAgain() throws Exception {
        int rows = DeliveredRows.MAX_GROUP_KEYS + 1_000;
        try (DeliveredRows.Writer w = new DeliveredRows.Writer(dir, 1)) {
            for (int i = 0; i < rows; i++) {
                w.add(CursorValues.INTEGER.encode(7L), String.format("%08d", i));
            }
            w.commit();
        }
        try (DeliveredRows.Reader r = new DeliveredRows.Reader(dir, 1, CursorValues.INTEGER)) {
            int delivered = 0;
            for (int i = 0; i < rows; i++) {
                if (r.delivered(7L, String.format("%08d", i))) {
                    delivered++;
                }
            }
            assertThat(delivered).isEqualTo(DeliveredRows.MAX_GROUP_KEYS);
        }
    }
}
