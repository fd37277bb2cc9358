package dev.ferry.jdbc;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.log.DurableFiles;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongFunction;

/**
 * Finds the rows of an incremental table deleted since the last run ({@code deletes: key_compare}) by
 * comparing the table's keys with the keys the last run saw, kept in a file in key order.
 *
 * <p>Design notes. The kept keys are cut into blocks of {@link #BLOCK}; a block spans the key range
 * from its first key to the next block's (the first from the smallest key, the last to the largest).
 * For each range the database answers a summary, {@code COUNT(*)} and, for a single integer key,
 * the sum of the keys modulo {@link #MODULUS} (a plain {@code SUM} of 64-bit keys overflows on SQLite
 * and SQL Server), which is compared with the same summary of the kept keys. Equal: the range is
 * unchanged (kept as it is, no key read). Different: the range is halved at its middle kept key and
 * each half compared again, down to {@link #LEAF} kept keys, whose range's keys are read (keys only,
 * in keyset chunks) and matched: a kept key the table no longer has is sent as a delete; a key the
 * table has that was not kept is new (the incremental read sent its row). The new key file is the
 * table's keys as this run saw them. Each query is its own short read-only transaction.
 *
 * <p>What the summary cannot see: a range with as many rows deleted as inserted whose keys (for a
 * single integer key) also sum the same modulo {@link #MODULUS}, or, for other keys, as many deleted as inserted. The
 * incremental read sends the inserted rows; the deletes then wait until the range changes again.
 * Memory: one block of kept keys, and one range's kept keys while it is matched.
 */
final class KeyCompare implements AutoCloseable {
    static final int BLOCK = 4096;
    static final int LEAF = 64;
    /** The integer keys are summed modulo this prime: up to ~9 billion rows the sum fits 64 bits anywhere. */
    static final long MODULUS = 1_000_000_007L;
    /**
     * The file in a table's folder that says a key comparison committed kept keys there: a key file the
     * marks name is then missing, not yet to be made ({@code deletes: key_compare} turned on).
     */
    static final String KEPT = "key_compare";

    private final Connection connection;
    private final Dialect dialect;
    private final TableShape shape;
    private final int chunkRows;
    private final int timeoutSeconds;
    private final Instant committedAt;
    private final LongFunction<JdbcPosition> positions;
    private final Path target;
    private final Path tmp;
    private final FileOutputStream file;
    private final DataOutputStream fresh;
    private final DataInputStream kept;
    private final boolean summedKey;

    private boolean started;
    private boolean done;
    private boolean firstBlock = true;
    private List<Object> lookahead;
    private long deletes;
    private long keysRead;
    private long keys;

    KeyCompare(Connection connection, Dialect dialect, TableShape shape, JdbcSettings settings, Path folder, long keptRun,
               long run, Instant committedAt, LongFunction<JdbcPosition> positions) throws IOException, FerryException {
        this.connection = connection;
        this.dialect = dialect;
        this.shape = shape;
        this.chunkRows = settings.chunkRows();
        this.timeoutSeconds = (int) settings.statementTimeout().toSeconds();
        this.committedAt = committedAt;
        this.positions = positions;
        Files.createDirectories(folder);
        Path keptFile = folder.resolve(keptRun + ".keys");
        boolean found = keptRun > 0 && Files.exists(keptFile);
        if (keptRun > 0 && !found && Files.exists(folder.resolve(KEPT))) {
            throw new FerryException(ErrorKind.INTERNAL, "The keys run " + keptRun + " kept of " + shape.table()
                    + " for deletes: key_compare are missing (" + keptFile + "): the state folder lost files, and "
                    + "comparing with nothing would lose the deletes since. Restore the state folder whole; or, to "
                    + "accept that those deletes are never sent, delete " + folder.resolve(KEPT) + " and the next "
                    + "run compares afresh.");
        }
        this.kept = found ? new DataInputStream(new BufferedInputStream(Files.newInputStream(keptFile), 1 << 16)) : null;
        this.target = folder.resolve(run + ".keys");
        this.tmp = folder.resolve(run + ".keys.tmp");
        this.file = new FileOutputStream(tmp.toFile());
        this.fresh = new DataOutputStream(new BufferedOutputStream(file, 1 << 16));
        this.summedKey = shape.keyKinds().size() == 1 && shape.keyKinds().get(0) == CursorValues.INTEGER;
    }

    boolean done() {
        return done;
    }

    long deletes() {
        return deletes;
    }

    long keysRead() {
        return keysRead;
    }

    /** Compares the next block of kept keys; deletes go to {@code out}. Returns the keys read from the table. */
    int next(List<ChangeEvent> out, long[] next) throws SQLException, IOException {
        if (!started) {
            started = true;
            lookahead = readKept();
        }
        long before = keysRead;
        List<List<Object>> block = new ArrayList<>();
        while (block.size() < BLOCK && lookahead != null) {
            block.add(lookahead);
            lookahead = readKept();
        }
        List<Object> lo = firstBlock || block.isEmpty() ? null : block.get(0);
        firstBlock = false;
        compare(lo, lookahead, block, out, next);
        done = lookahead == null;
        return (int) (keysRead - before);
    }

    /** The kept keys {@code inKept} lie in {@code [lo, hi)}; null bounds are open. */
    private void compare(List<Object> lo, List<Object> hi, List<List<Object>> inKept, List<ChangeEvent> out, long[] next)
            throws SQLException, IOException {
        if (summary(lo, hi).equals(summaryOf(inKept))) {
            for (List<Object> k : inKept) {
                write(k);
            }
            return;
        }
        if (inKept.size() > LEAF) {
            int half = inKept.size() / 2;
            List<Object> middle = inKept.get(half);
            compare(lo, middle, inKept.subList(0, half), out, next);
            compare(middle, hi, inKept.subList(half, inKept.size()), out, next);
            return;
        }
        Map<String, List<Object>> gone = new LinkedHashMap<>();
        for (List<Object> k : inKept) {
            gone.put(text(k), k);
        }
        List<Object> last = null;
        while (true) {
            KeyPredicate where = new KeyPredicate();
            List<String> conditions = range(where, lo, hi);
            if (last != null) {
                conditions.add(where.compare(shape.keyColumns(dialect), ">", last, shape.keyKinds()));
            }
            String sql = "SELECT " + String.join(", ", shape.keyColumns(dialect)) + " FROM " + dialect.from(shape.table())
                    + (conditions.isEmpty() ? "" : " WHERE " + String.join(" AND ", conditions))
                    + " ORDER BY " + String.join(", ", shape.keyColumns(dialect)) + dialect.limit(chunkRows);
            int n = 0;
            try (PreparedStatement ps = connection.prepareStatement(sql)) {
                ps.setMaxRows(chunkRows);
                ps.setFetchSize(Math.min(chunkRows, 10_000));
                ps.setQueryTimeout(timeoutSeconds);
                where.bind(ps);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        List<Object> k = new ArrayList<>();
                        for (int i = 0; i < shape.keyKinds().size(); i++) {
                            k.add(shape.keyKinds().get(i).read(rs, i + 1));
                        }
                        gone.remove(text(k));
                        write(k);
                        last = k;
                        n++;
                    }
                }
            } finally {
                connection.commit();
            }
            keysRead += n;
            if (n < chunkRows) {
                break;
            }
        }
        for (List<Object> k : gone.values()) {
            out.add(delete(k, next));
        }
    }

    /** The conditions {@code key >= lo AND key < hi}. */
    private List<String> range(KeyPredicate where, List<Object> lo, List<Object> hi) {
        List<String> conditions = new ArrayList<>();
        if (lo != null) {
            conditions.add(where.compare(shape.keyColumns(dialect), ">=", lo, shape.keyKinds()));
        }
        if (hi != null) {
            conditions.add(where.compare(shape.keyColumns(dialect), "<", hi, shape.keyKinds()));
        }
        return conditions;
    }

    /** The database's summary of a key range: the row count, and the sum of a single integer key. */
    private List<Object> summary(List<Object> lo, List<Object> hi) throws SQLException {
        KeyPredicate where = new KeyPredicate();
        List<String> conditions = range(where, lo, hi);
        String sql = "SELECT COUNT(*)"
                + (summedKey ? ", SUM(" + dialect.remainder(shape.keyColumns(dialect).get(0), MODULUS) + ")" : "")
                + " FROM " + dialect.from(shape.table())
                + (conditions.isEmpty() ? "" : " WHERE " + String.join(" AND ", conditions));
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            ps.setQueryTimeout(timeoutSeconds);
            where.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                long count = rs.getLong(1);
                BigDecimal sum = summedKey ? rs.getBigDecimal(2) : null;
                return summedKey ? List.of(count, sum == null ? BigDecimal.ZERO : sum.stripTrailingZeros())
                        : List.of(count);
            }
        } finally {
            connection.commit();
        }
    }

    private List<Object> summaryOf(List<List<Object>> inKept) {
        if (!summedKey) {
            return List.of((long) inKept.size());
        }
        long sum = 0;
        for (List<Object> k : inKept) {
            sum += (Long) k.get(0) % MODULUS;
        }
        return List.of((long) inKept.size(), BigDecimal.valueOf(sum).stripTrailingZeros());
    }

    private ChangeEvent delete(List<Object> key, long[] next) {
        Object[] values = new Object[shape.schema().size()];
        int[] keyIndexes = shape.keyIndexes();
        for (int i = 0; i < keyIndexes.length; i++) {
            values[keyIndexes[i]] = shape.keyKinds().get(i).logical(key.get(i));
        }
        deletes++;
        return new ChangeEvent(Op.DELETE, shape.schema(), Row.wrap(values), null, null, positions.apply(next[0]++), 0,
                committedAt);
    }

    static String text(List<Object> key) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < key.size(); i++) {
            b.append(i == 0 ? "" : "\u0000").append(Objects.toString(key.get(i)));
        }
        return b.toString();
    }

    private void write(List<Object> key) throws IOException {
        for (int i = 0; i < key.size(); i++) {
            fresh.writeUTF(shape.keyKinds().get(i).encode(key.get(i)));
        }
        keys++;
    }

    private List<Object> readKept() throws IOException {
        if (kept == null) {
            return null;
        }
        List<Object> k = new ArrayList<>();
        try {
            for (int i = 0; i < shape.keyKinds().size(); i++) {
                k.add(CursorValues.decode(kept.readUTF()));
            }
        } catch (EOFException e) {
            return null;
        }
        return k;
    }

    /** Makes the keys this run saw durable, for the next run to compare with. */
    void commit() throws IOException {
        fresh.flush();
        file.getFD().sync();
        fresh.close();
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        if (!Files.exists(target.resolveSibling(KEPT))) {
            DurableFiles.replace(target.resolveSibling(KEPT), new byte[0]); // syncs the folder: the rename too
        } else {
            DurableFiles.syncFolder(target.getParent());
        }
    }

    long keys() {
        return keys;
    }

    @Override
    public void close() {
        try {
            fresh.close();
            Files.deleteIfExists(tmp);
            if (kept != null) {
                kept.close();
            }
        } catch (IOException ignored) {
            // files of a compare that is dropped or already committed
        }
    }
}
