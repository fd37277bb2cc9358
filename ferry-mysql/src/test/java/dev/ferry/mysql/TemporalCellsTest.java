package dev.ferry.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.shyiko.mysql.binlog.io.ByteArrayInputStream;
import org.junit.jupiter.api.Test;

/** Byte layouts from MySQL's "Date and Time Data Type Representation". */
class TemporalCellsTest {
    private static ByteArrayInputStream in(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return new ByteArrayInputStream(b);
    }

    @Test
    void decodesDatetime2WithFractionAndZeroDates() throws Exception {
        // 2026-11-24 12:34:56.123456: year*13+month = 26349, packed with the sign bit
        long ym = 2026L * 13 + 11;
        long packed = (1L << 39) | (ym << 22) | (24L << 17) | (12L << 12) | (34L << 6) | 56;
        int[] bytes = new int[8];
        for (int i = 0; i < 5; i++) {
            bytes[i] = (int) (packed >>> (8 * (4 - i))) & 0xFF;
        }
        int frac = 123456;
        bytes[5] = frac >>> 16;
        bytes[6] = (frac >>> 8) & 0xFF;
        bytes[7] = frac & 0xFF;
        assertThat(TemporalCells.datetime2(6, in(bytes))).isEqualTo("2026-11-24T12:34:56.123456");
        // zero date: only the sign bit
        assertThat(TemporalCells.datetime2(0, in(0x80, 0, 0, 0, 0))).isNull();
    }

    @Test
    void decodesTimestamp2AsUtcAndTheZeroTimestampAsNull() throws Exception {
        // 1,000,000,000 s = 2001-09-09T01:46:40Z, fraction .5 with fsp 1 (one byte, hundredths)
        assertThat(TemporalCells.timestamp2(1, in(0x3B, 0x9A, 0xCA, 0x00, 50))).isEqualTo("2001-09-09T01:46:40.5Z");
        assertThat(TemporalCells.timestamp2(0, in(0, 0, 0, 0))).isNull();
    }

    @Test
    void decodesNegativeAndLongTimes() throws Exception {
        // 838:59:59 = intpart (838 << 12 | 59 << 6 | 59) + 0x800000
        int v = (838 << 12 | 59 << 6 | 59) + 0x800000;
        assertThat(TemporalCells.time2(0, in(v >>> 16, (v >>> 8) & 0xFF, v & 0xFF))).isEqualTo("838:59:59");
        // -01:00:00: 0x800000 - (1 << 12)
        int n = 0x800000 - (1 << 12);
        assertThat(TemporalCells.time2(0, in(n >>> 16, (n >>> 8) & 0xFF, n & 0xFF))).isEqualTo("-01:00:00");
        assertThat(TemporalCells.fractionText(5000, 3)).isEqualTo(".005");
    }

    @Test
    void decodesDateAndYear() throws Exception {
        int d = (1999 << 9) | (12 << 5) | 31;
        assertThat(TemporalCells.date(in(d & 0xFF, (d >>> 8) & 0xFF, d >>> 16))).isEqualTo("1999-12-31");
        assertThat(TemporalCells.date(in(0, 0, 0))).isNull();
        assertThat(TemporalCells.year(in(0))).isZero();
        assertThat(TemporalCells.year(in(155))).isEqualTo(2055);
    }
}
