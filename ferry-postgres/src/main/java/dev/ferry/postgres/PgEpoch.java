package dev.ferry.postgres;

import java.time.Instant;

/** PostgreSQL's wire timestamps: microseconds since 2000-01-01 00:00:00 UTC. */
final class PgEpoch {
    private static final long EPOCH_2000_SECONDS = 946_684_800L;

    private PgEpoch() {
    }

    static Instant toInstant(long micros) {
        return Instant.ofEpochSecond(EPOCH_2000_SECONDS + Math.floorDiv(micros, 1_000_000L),
                Math.floorMod(micros, 1_000_000L) * 1000L);
    }
}
