package dev.ferry.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Rows built encoded hold the same values as rows built from objects, whichever way they are built. */
class RowEncoderTest {
    private static final Object[] VALUES = {null, true, false, 0L, Long.MIN_VALUE, Long.MAX_VALUE, -0.0, Double.NaN,
        Double.NEGATIVE_INFINITY, 1.5e-300, "", "ascii", "Grüße, 日本, 🚢", new byte[0], new byte[] {0, -1, 127},
        List.of(), List.of(1L, List.of("a", "b"), List.of()), Arrays.asList("x", null, "z")};

    @Test
    void everyRepresentationSurvivesTheEncoding() {
        RowEncoder encoder = new RowEncoder();
        for (Object v : VALUES) {
            encoder.put(v);
        }
        assertThat(encoder.count()).isEqualTo(VALUES.length);
        Row row = encoder.finish();
        assertThat(row.size()).isEqualTo(VALUES.length);
        assertThat(row.encodedValues()).isNotNull();
        assertThat(row).isEqualTo(Row.wrap(VALUES.clone())).hasSameHashCodeAs(Row.wrap(VALUES.clone()));
        assertThat(row.get(12)).isEqualTo("Grüße, 日本, 🚢");
        assertThat(row.get(14)).isEqualTo(new byte[] {0, -1, 127});
        assertThat(encoder.count()).isZero(); // reset for the next row
    }

    @Test
    void aRowReadFromBytesKeepsThemAndStopsAtItsEnd() {
        RowEncoder encoder = new RowEncoder();
        for (Object v : VALUES) {
            encoder.put(v);
        }
        byte[] encoded = encoder.finish().encodedValues();
        ByteBuffer in = ByteBuffer.allocate(encoded.length + 3).put((byte) 9).put(encoded).put((byte) 1).put((byte) 2);
        in.flip().position(1);
        Row row = RowEncoder.readRow(in, VALUES.length);
        assertThat(in.position()).as("the next row starts after it").isEqualTo(1 + encoded.length);
        assertThat(row.encodedValues()).as("handed on as bytes, decoded only when asked").isEqualTo(encoded);
        assertThat(row).isEqualTo(Row.wrap(VALUES.clone()));
    }

    @Test
    void aRowReadFromBytesOfAnotherShapeIsRefused() {
        byte[] unknownTag = {9};
        byte[] stringPastTheEnd = {5, 0, 0, 0, 9, 'a'};
        byte[] listPastTheEnd = {7, 0, 0, 0, 2, 0};
        byte[] longCut = {3, 0, 0, 0};
        for (byte[] bad : List.of(unknownTag, stringPastTheEnd, listPastTheEnd, longCut)) {
            assertThatThrownBy(() -> RowEncoder.readRow(ByteBuffer.wrap(bad), 1))
                    .isInstanceOfAny(IllegalArgumentException.class, java.nio.BufferUnderflowException.class);
        }
    }

    @Test
    void utf8BytesAndStringsEncodeAlike() {
        RowEncoder a = new RowEncoder();
        RowEncoder b = new RowEncoder();
        for (String s : new String[] {"", "plain", "é", "日本語", "\u0000", "🚢 ship"}) {
            byte[] utf8 = ("<" + s + ">").getBytes(StandardCharsets.UTF_8);
            a.putUtf8(utf8, 1, utf8.length - 2);
            b.putString(s);
        }
        assertThat(a.finish().encodedValues()).isEqualTo(b.finish().encodedValues());
    }

    @Test
    void anEncodedRowIsCopiedAsItIsIntoAnother() {
        RowEncoder encoder = new RowEncoder();
        encoder.putLong(7);
        encoder.putString("seven");
        Row encoded = encoder.finish();
        encoder.putAll(encoded);
        encoder.putAll(Row.wrap(8L, "eight"));
        Row both = encoder.finish();
        assertThat(both).isEqualTo(Row.wrap(7L, "seven", 8L, "eight"));
    }

    @Test
    void theBuilderGrowsForLargeValues() {
        RowEncoder encoder = new RowEncoder();
        byte[] big = new byte[1 << 20];
        Arrays.fill(big, (byte) 'x');
        encoder.putUtf8(big, 0, big.length);
        encoder.putBytes(big);
        Row row = encoder.finish();
        assertThat((String) row.get(0)).hasSize(1 << 20);
        assertThat((byte[]) row.get(1)).hasSize(1 << 20);
    }

    @Test
    void otherClassesAreRefusedWithTheirName() {
        assertThatThrownBy(() -> new RowEncoder().put(java.math.BigDecimal.ONE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("java.math.BigDecimal");
    }

    @Test
    void bytesThatAreNotValuesAreRefused() {
        assertThatThrownBy(() -> RowEncoder.decode(ByteBuffer.wrap(new byte[] {42}), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tag 42");
        assertThatThrownBy(() -> RowEncoder.decode(ByteBuffer.wrap(new byte[] {5, 0, 0, 0, 9, 'a'}), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("impossible length 9");
    }
}
