package dev.ferry.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MySqlPositionTest {
    private final MySqlPositionCodec codec = new MySqlPositionCodec();

    @Test
    void ordersByFileSequenceThenOffsetThenSnapshotThenIndex() {
        List<MySqlPosition> sorted = List.of(
                new MySqlPosition("mysql-bin.000009", 900, true, 5, null),
                MySqlPosition.at("mysql-bin.000009", 900),
                new MySqlPosition("mysql-bin.000009", 900, false, 0, "0-1-7"),
                new MySqlPosition("mysql-bin.000009", 900, false, 1, "0-1-7"),
                MySqlPosition.at("mysql-bin.000009", 1200),
                // the tenth file after the ninth, though "000010" < "000009" is false only numerically
                MySqlPosition.at("mysql-bin.000010", 4),
                MySqlPosition.at("mysql-bin.1000000", 4));
        List<MySqlPosition> shuffled = new ArrayList<>(sorted);
        java.util.Collections.reverse(shuffled);
        shuffled.sort(MySqlPosition::compareTo);
        assertThat(shuffled).containsExactlyElementsOf(sorted);
        assertThat(sorted.get(2).inTransaction()).isTrue();
        assertThat(sorted.get(1).inTransaction()).isFalse();
    }

    @Test
    void codecRoundTripsAndRejectsOtherVersions() {
        for (MySqlPosition p : List.of(new MySqlPosition("mysql-bin.000003", 1234, false, 17, "0-1-42"),
                new MySqlPosition("bin.log.000001", 4, true, 0, null), MySqlPosition.at("ü.000001", Long.MAX_VALUE))) {
            assertThat(codec.decode(codec.encode(p))).isEqualTo(p);
        }
        byte[] bytes = codec.encode(MySqlPosition.at("mysql-bin.000001", 4));
        bytes[0] = 9;
        assertThatThrownBy(() -> codec.decode(bytes)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("version 9");
        assertThatThrownBy(() -> codec.decode(new byte[] {1, 0})).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void displaysAndFillsTheEnvelope() {
        MySqlPosition p = new MySqlPosition("mysql-bin.000003", 1234, false, 2, "0-1-42");
        assertThat(p.display()).isEqualTo("mysql-bin.000003:1234 #2 (GTID 0-1-42)");
        assertThat(p.envelopeFields()).containsExactly(java.util.Map.entry("file", "mysql-bin.000003"),
                java.util.Map.entry("pos", 1234L), java.util.Map.entry("index", 2L), java.util.Map.entry("gtid", "0-1-42"));
        assertThat(new MySqlPosition("f.000001", 4, true, 3, null).display()).isEqualTo("snapshot at f.000001:4 row 3");
    }
}
