package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class PgPositionTest {
    @Test
    void ordersByLsnThenSnapshotBeforeStreamThenIndex() {
        List<PgPosition> expected = List.of(
                new PgPosition(0x10, false, 5),
                new PgPosition(0x20, true, -1),
                new PgPosition(0x20, true, 0),
                new PgPosition(0x20, true, 1_000_000),
                PgPosition.at(0x20),
                new PgPosition(0x20, false, 0),
                new PgPosition(0x20, false, 1),
                new PgPosition(0x1_0000_0000L, false, 0));
        List<PgPosition> shuffled = new ArrayList<>(expected);
        Collections.shuffle(shuffled, new java.util.Random(42));
        Collections.reverse(shuffled);

        Collections.sort(shuffled);

        assertThat(shuffled).containsExactlyElementsOf(expected);
    }

    @Test
    void lsnsCompareUnsigned() {
        PgPosition high = PgPosition.at(0xFFFF_FFFF_0000_0000L); // negative as a signed long
        PgPosition low = PgPosition.at(1);

        assertThat(high).isGreaterThan(low);
        assertThat(low).isLessThan(high);
    }

    @Test
    void indexMinusOneComesBeforeTheFirstEvent() {
        assertThat(PgPosition.at(100)).isLessThan(new PgPosition(100, false, 0));
        assertThat(new PgPosition(100, true, -1)).isLessThan(new PgPosition(100, true, 0));
    }

    @Test
    void equalPositionsCompareEqual() {
        assertThat(new PgPosition(7, false, 3)).isEqualByComparingTo(new PgPosition(7, false, 3));
    }

    @Test
    void lsnTextRoundTrips() {
        assertThat(PgPosition.parseLsn("16/B374D848")).isEqualTo(0x16_B374_D848L);
        assertThat(PgPosition.formatLsn(0x16_B374_D848L)).isEqualTo("16/B374D848");
        assertThat(PgPosition.formatLsn(0)).isEqualTo("0/0");
        assertThat(PgPosition.parseLsn("0/16B3748")).isEqualTo(0x16B3748L);
        assertThat(PgPosition.parseLsn("16/b374d848")).isEqualTo(0x16_B374_D848L);
        for (long lsn : new long[] {0, 1, 0xFFFF_FFFFL, 0x1_0000_0000L, 0x16_B374_D848L, -1L, Long.MIN_VALUE}) {
            assertThat(PgPosition.parseLsn(PgPosition.formatLsn(lsn))).isEqualTo(lsn);
        }
        assertThat(PgPosition.formatLsn(-1L)).isEqualTo("FFFFFFFF/FFFFFFFF");
    }

    @Test
    void malformedLsnIsRejected() {
        assertThatThrownBy(() -> PgPosition.parseLsn("16B374D848")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PgPosition.parseLsn("16/XYZ")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void display() {
        assertThat(PgPosition.at(0x16B3748).display()).isEqualTo("0/16B3748");
        assertThat(new PgPosition(0x16B3748, false, 12).display()).isEqualTo("0/16B3748 #12");
        assertThat(new PgPosition(0x16B3748, true, 3).display()).isEqualTo("snapshot at 0/16B3748 row 3");
    }
}
