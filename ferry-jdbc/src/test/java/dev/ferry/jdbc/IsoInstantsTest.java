package dev.ferry.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class IsoInstantsTest {
    @Test
    void writesWhatInstantToStringWrites() {
        long[][] cases = {{0, 0}, {1_767_225_601, 0}, {1_767_225_600, 250_000_000}, {1_767_225_600, 123_456_000},
                {1_767_225_600, 123_456_789}, {1_767_225_600, 1}, {-62_135_596_800L, 0}, {253_402_300_799L, 999_999_999},
                {-62_167_219_200L, 5_000_000}};
        for (long[] c : cases) {
            assertThat(text(c[0], (int) c[1])).isEqualTo(Instant.ofEpochSecond(c[0], c[1]).toString());
        }
        // five-digit and negative years are left to the caller
        assertThat(IsoInstants.utf8(-62_167_219_201L, 0)).isNull();
        assertThat(IsoInstants.utf8(253_402_300_800L, 0)).isNull();
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 10_000; i++) {
            long second = random.nextLong(-62_167_219_200L, 253_402_300_800L);
            int nano = switch (i % 4) {
                case 0 -> 0;
                case 1 -> random.nextInt(1000) * 1_000_000;
                case 2 -> random.nextInt(1_000_000) * 1000;
                default -> random.nextInt(1_000_000_000);
            };
            assertThat(text(second, nano)).isEqualTo(Instant.ofEpochSecond(second, nano).toString());
        }
    }

    @Test
    void turnsPostgresUtcTextIntoWhatInstantToStringWrites() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 10_000; i++) {
            long second = random.nextLong(-62_135_596_800L, 253_402_300_800L);
            int micros = switch (i % 4) {
                case 0 -> 0;
                case 1 -> random.nextInt(1000) * 1000;
                case 2 -> random.nextInt(10) * 100_000;
                default -> random.nextInt(1_000_000);
            };
            Instant t = Instant.ofEpochSecond(second, micros * 1000L);
            // PostgreSQL's ISO output: a space, microseconds without trailing zeros, +00
            String fraction = micros == 0 ? "" : ("." + String.format("%06d", micros)).replaceAll("0+$", "");
            String pg = t.toString().substring(0, 19).replace('T', ' ') + fraction + "+00";
            assertThat(new String(IsoInstants.fromPostgresUtc(pg.getBytes(StandardCharsets.US_ASCII)),
                    StandardCharsets.US_ASCII)).as(pg).isEqualTo(t.toString());
        }
        for (String other : new String[] {"infinity", "-infinity", "2026-01-01 00:00:01+01", "12026-01-01 00:00:01+00",
                "2026-01-01 00:00:01+00 BC", "2026-01-01 00:00:01+05:30"}) {
            assertThat(IsoInstants.fromPostgresUtc(other.getBytes(StandardCharsets.US_ASCII))).as(other).isNull();
        }
    }

    private static String text(long second, int nano) {
        return new String(IsoInstants.utf8(second, nano), StandardCharsets.US_ASCII);
    }
}
