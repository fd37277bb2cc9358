package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PgPositionCodecTest {
    private final PgPositionCodec codec = new PgPositionCodec();

    @Test
    void roundTrips() {
        for (PgPosition p : new PgPosition[] {
            PgPosition.at(0x16_B374_D848L),
            new PgPosition(0x16_B374_D848L, false, 12),
            new PgPosition(0x16_B374_D848L, true, -1),
            new PgPosition(-1L, true, Long.MAX_VALUE),
            new PgPosition(0, false, 0),
        }) {
            assertThat(codec.decode(codec.encode(p))).isEqualTo(p);
        }
    }

    @Test
    void encodingStartsWithTheVersion() {
        byte[] bytes = codec.encode(new PgPosition(1, true, 2));

        assertThat(bytes).hasSize(18);
        assertThat(bytes[0]).isEqualTo((byte) 1);
    }

    @Test
    void rejectsAnUnknownVersion() {
        byte[] bytes = codec.encode(new PgPosition(1, false, 2));
        bytes[0] = 2;

        assertThatThrownBy(() -> codec.decode(bytes)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("version 2");
    }

    @Test
    void rejectsTruncatedBytes() {
        byte[] bytes = java.util.Arrays.copyOf(codec.encode(new PgPosition(1, false, 2)), 10);

        assertThatThrownBy(() -> codec.decode(bytes)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> codec.decode(new byte[0])).isInstanceOf(IllegalArgumentException.class);
    }
}
