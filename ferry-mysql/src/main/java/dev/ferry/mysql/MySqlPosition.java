package dev.ferry.mysql;

import dev.ferry.source.Position;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A place in a MySQL or MariaDB server's binlog: the file and offset where a transaction starts (its
 * GTID or BEGIN event), and a row's index in that transaction. Snapshot reads sit at the binlog
 * position of the consistent snapshot, before every streamed transaction at that position.
 *
 * <p>Order: by binlog file (its sequence number), offset, then snapshot before stream, then index.
 * Index -1 stands for "at this offset, before any row": the position of a quiet stream (between
 * transactions), where reading resumes at {@code offset} exactly. A position inside a transaction
 * resumes at the transaction's start and skips the rows up to {@code index}, so a restart in the
 * middle of a transaction neither repeats nor loses a row.
 *
 * @param file     binlog file name ({@code mysql-bin.000003})
 * @param offset   the transaction's first event (stream), the snapshot's binlog position, or the end
 *                 of the last event read (quiet)
 * @param snapshot whether this is a snapshot read
 * @param index    the row's index in its transaction (every row event counts, captured or not) or in
 *                 the snapshot, or -1
 * @param gtid     the transaction's GTID ({@code 0-1-42} on MariaDB, {@code uuid:n} on MySQL), or null;
 *                 informative only: order and resume go by file and offset
 */
public record MySqlPosition(String file, long offset, boolean snapshot, long index, String gtid) implements Position {
    /** The position at {@code file:offset} before any row. */
    static MySqlPosition at(String file, long offset) {
        return new MySqlPosition(file, offset, false, -1, null);
    }

    @Override
    public int compareTo(Position o) {
        MySqlPosition p = (MySqlPosition) o;
        int c = compareFiles(file, p.file);
        if (c != 0) {
            return c;
        }
        c = Long.compare(offset, p.offset);
        if (c != 0) {
            return c;
        }
        if (snapshot != p.snapshot) {
            return snapshot ? -1 : 1;
        }
        return Long.compare(index, p.index);
    }

    /** Binlog files sort by their numeric extension ({@code .000010} after {@code .000009}). */
    static int compareFiles(String a, String b) {
        if (a.equals(b)) {
            return 0;
        }
        int da = a.lastIndexOf('.');
        int db = b.lastIndexOf('.');
        if (da > 0 && db > 0 && a.substring(0, da).equals(b.substring(0, db))) {
            try {
                return Long.compare(Long.parseLong(a.substring(da + 1)), Long.parseLong(b.substring(db + 1)));
            } catch (NumberFormatException e) {
                // not a sequence number: fall back to the names
            }
        }
        return a.compareTo(b);
    }

    /** Whether this position is inside a transaction (a row), rather than between transactions. */
    boolean inTransaction() {
        return !snapshot && index >= 0;
    }

    @Override
    public String display() {
        String base = file + ":" + offset;
        if (snapshot) {
            return "snapshot at " + base + (index >= 0 ? " row " + index : "");
        }
        return (index >= 0 ? base + " #" + index : base) + (gtid == null ? "" : " (GTID " + gtid + ")");
    }

    @Override
    public Map<String, Object> envelopeFields() {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("file", file);
        fields.put("pos", offset);
        fields.put("index", index);
        if (gtid != null) {
            fields.put("gtid", gtid);
        }
        return fields;
    }

    @Override
    public String toString() {
        return display();
    }
}
