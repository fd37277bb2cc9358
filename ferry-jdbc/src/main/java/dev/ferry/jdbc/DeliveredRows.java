package dev.ferry.jdbc;

import dev.ferry.log.DurableFiles;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.Set;

/**
 * The rows of an incremental table's look-back zone that a run delivered: (cursor, key) pairs, in the
 * order the run read them (cursor, then key). The next run reads the zone again and skips the rows
 * found here with the same cursor value, so a look-back re-reads without sending a row twice.
 *
 * <p>The file is one run's ({@code <run>.rows} in the table's folder): written while the table is
 * read, made durable and renamed into place before the position that names the run is emitted, so a
 * position never names a file that is not there. Memory stays bounded: the reader holds only the
 * pairs of one cursor value at a time, at most {@link #MAX_GROUP_KEYS}, and rows arrive in the same order.
 */
final class DeliveredRows {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DeliveredRows.class);

    private DeliveredRows() {
    }

    static Path file(Path folder, long run) {
        return folder.resolve(run + ".rows");
    }

    /** Writes the pairs of one run; {@link #commit} makes the file appear. */
    static final class Writer implements AutoCloseable {
        private final Path target;
        private final Path tmp;
        private final FileOutputStream file;
        private final DataOutputStream out;
        private long count;

        Writer(Path folder, long run) throws IOException {
            Files.createDirectories(folder);
            this.target = file(folder, run);
            this.tmp = folder.resolve(run + ".rows.tmp");
            this.file = new FileOutputStream(tmp.toFile());
            this.out = new DataOutputStream(new BufferedOutputStream(file, 1 << 16));
        }

        void add(String cursor, String key) throws IOException {
            out.writeUTF(cursor);
            out.writeUTF(key);
            count++;
        }

        long count() {
            return count;
        }

        void commit() throws IOException {
            out.flush();
            file.getFD().sync();
            out.close();
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            DurableFiles.syncFolder(target.getParent()); // the rename survives a power cut
        }

        @Override
        public void close() throws IOException {
            out.close();
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * The most keys of one cursor value held in memory (about 100 bytes each). A bulk update that gives
     * more rows one cursor value (say, {@code SET updated_at = now()} on millions) would otherwise grow
     * the heap with the table: past the cap, that value's further rows count as not delivered and are
     * sent again (duplicates for a history, harmless for a mirror; never a loss).
     */
    static final int MAX_GROUP_KEYS = 200_000;

    /** Answers "was this row delivered?" for rows asked in read order. */
    static final class Reader implements AutoCloseable {
        private final DataInputStream in;
        private final CursorValues kind;
        private String nextCursor;
        private String nextKey;
        private Object groupValue;
        private final Set<String> groupKeys = new HashSet<>();
        private boolean capped;

        /** A reader of the run's file; one that knows no row when the file is missing. */
        Reader(Path folder, long run, CursorValues kind) throws IOException {
            Path f = file(folder, run);
            this.kind = kind;
            this.in = Files.exists(f) ? new DataInputStream(new BufferedInputStream(Files.newInputStream(f), 1 << 16)) : null;
            advance();
        }

        private void advance() throws IOException {
            nextCursor = null;
            if (in == null) {
                return;
            }
            try {
                nextCursor = in.readUTF();
                nextKey = in.readUTF();
            } catch (EOFException e) {
                nextCursor = null;
            }
        }

        @SuppressWarnings({"unchecked", "rawtypes"})
        boolean delivered(Comparable cursor, String key) throws IOException {
            if (groupValue == null || ((Comparable) groupValue).compareTo(cursor) < 0) {
                groupKeys.clear();
                groupValue = null;
                while (nextCursor != null) {
                    Comparable v = CursorValues.decode(nextCursor);
                    int c = v.compareTo(cursor);
                    if (c > 0) {
                        break;
                    }
                    if (c == 0) {
                        groupValue = v;
                        if (groupKeys.size() < MAX_GROUP_KEYS) {
                            groupKeys.add(nextKey);
                        } else if (!capped) {
                            capped = true;
                            LOG.warn("More than {} rows delivered last run share the cursor value {}: the rest of them "
                                    + "are sent again in this run's look-back (duplicates in a history sink, never a "
                                    + "loss). A cursor finer than the bulk update that set it avoids this.",
                                    MAX_GROUP_KEYS, nextCursor);
                        }
                    }
                    advance();
                }
                if (groupValue == null) {
                    return false;
                }
            }
            return ((Comparable) groupValue).compareTo(cursor) == 0 && groupKeys.contains(key);
        }

        @Override
        public void close() throws IOException {
            if (in != null) {
                in.close();
            }
        }
    }
}
