package dev.ferry.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class JdbcPositionCodecTest {
    private final JdbcPositionCodec codec = new JdbcPositionCodec();

    @Test
    void roundTripsRunIndexWindowAndMarks() {
        TreeMap<String, JdbcPosition.TableMark> marks = new TreeMap<>();
        marks.put("public.orders", new JdbcPosition.TableMark(7, "z:2026-11-30T10:00Z"));
        marks.put("public.customers", new JdbcPosition.TableMark(7, ""));
        for (JdbcPosition p : new JdbcPosition[] {new JdbcPosition(7, JdbcPosition.DONE, null, marks),
                new JdbcPosition(8, 12, "2026-11-30", new TreeMap<>()), JdbcPosition.initial()}) {
            assertThat(codec.decode(codec.encode(p))).isEqualTo(p);
        }
    }

    @Test
    void writesAnEventsPositionInTheSameFormatAsAnyOther() throws Exception {
        java.io.ByteArrayOutputStream expected = new java.io.ByteArrayOutputStream();
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(expected)) {
            out.writeByte(1);
            out.writeLong(7);
            out.writeLong(123_456);
            out.writeBoolean(false);
            out.writeInt(0);
        }
        JdbcPosition p = new JdbcPosition(7, 123_456, null, new TreeMap<>());
        assertThat(codec.encode(p)).isEqualTo(expected.toByteArray());
        assertThat(codec.decode(expected.toByteArray())).isEqualTo(p);
    }

    @Test
    void rejectsAnUnknownVersionAndTrailingBytes() {
        byte[] bytes = codec.encode(new JdbcPosition(1, 2, null, new TreeMap<>()));
        bytes[0] = 9;
        assertThatThrownBy(() -> codec.decode(bytes)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("version 9");
        byte[] good = codec.encode(new JdbcPosition(1, 2, null, new TreeMap<>()));
        byte[] longer = java.util.Arrays.copyOf(good, good.length + 1);
        assertThatThrownBy(() -> codec.decode(longer)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void ordersByRunThenIndexWithACompleteRunLast() {
        JdbcPosition a = new JdbcPosition(3, 5, null, new TreeMap<>());
        JdbcPosition b = new JdbcPosition(3, JdbcPosition.DONE, null, new TreeMap<>());
        JdbcPosition c = new JdbcPosition(4, -1, null, new TreeMap<>());
        assertThat(a).isLessThan(b);
        assertThat(b).isLessThan(c);
    }
}
