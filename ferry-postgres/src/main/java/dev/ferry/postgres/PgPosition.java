package dev.ferry.postgres;

import dev.ferry.source.Position;
import java.util.Map;

/**
 * A place in PostgreSQL's change stream: the commit LSN of a transaction and an event's index in it.
 * Snapshot reads sit at the slot's consistent point, before every streamed transaction at that LSN.
 *
 * <p>Order: by LSN, then snapshot before stream, then index. Index -1 stands for "at this LSN,
 * before any event": the position of a quiet stream (no transaction open) or of a finished snapshot.
 *
 * @param lsn      commit LSN (stream), the consistent point (snapshot), or the server's WAL end (quiet)
 * @param snapshot whether this is a snapshot read
 * @param index    the event's index within its transaction or snapshot, or -1
 */
public record PgPosition(long lsn, boolean snapshot, long index) implements Position {
    /** The position at {@code lsn} before any of its events. */
    public static PgPosition at(long lsn) {
        return new PgPosition(lsn, false, -1);
    }

    @Override
    public int compareTo(Position o) {
        PgPosition p = (PgPosition) o;
        int c = Long.compareUnsigned(lsn, p.lsn);
        if (c != 0) {
            return c;
        }
        if (snapshot != p.snapshot) {
            return snapshot ? -1 : 1;
        }
        return Long.compare(index, p.index);
    }

    @Override
    public String display() {
        String base = formatLsn(lsn);
        if (snapshot) {
            return "snapshot at " + base + (index >= 0 ? " row " + index : "");
        }
        return index >= 0 ? base + " #" + index : base;
    }

    @Override
    public Map<String, Object> envelopeFields() {
        java.util.LinkedHashMap<String, Object> fields = new java.util.LinkedHashMap<>();
        fields.put("lsn", lsn);
        fields.put("index", index);
        return fields;
    }

    /** PostgreSQL's text form of an LSN: {@code 16/B374D848}. */
    public static String formatLsn(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
    }

    /** Parses PostgreSQL's text form of an LSN. */
    public static long parseLsn(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("not an LSN: " + text);
        }
        return (Long.parseLong(text.substring(0, slash), 16) << 32) | Long.parseLong(text.substring(slash + 1), 16);
    }

    @Override
    public String toString() {
        return display();
    }
}
