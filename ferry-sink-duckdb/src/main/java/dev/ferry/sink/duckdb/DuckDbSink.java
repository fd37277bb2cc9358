package dev.ferry.sink.duckdb;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.log.CrashPoints;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.duckdb.DuckDBConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps mirror tables equal to the source (and, optionally, history tables of every change) in one
 * DuckDB file, with the sink's committed offset in the same file.
 *
 * <p>Design notes.
 * <ul>
 *   <li>Exactly once: each {@code write} is one DuckDB transaction holding the data of every table
 *       and the new offset in {@code _ferry.offsets}; DuckDB's write-ahead log makes the commit
 *       durable. After a crash the pipeline sends the range after the committed offset again; events
 *       at or below the stored offset are skipped, so a range written twice leaves one copy.</li>
 *   <li>Event offsets: the events of a write are the Log offsets {@code (last - size, last]}, in
 *       order (the {@link Sink} contract), so each event's offset is known without carrying it.</li>
 *   <li>Speed: per table and write, the net effect per key is computed in memory
 *       ({@link KeyedChanges}), staged with DuckDB's Appender and applied with set-based statements
 *       ({@link TableWriter}). Memory is bounded by the pipeline's batch size, and DuckDB's own by
 *       {@code memory_limit_mb}.</li>
 *   <li>Errors: DuckDB reports its error class only as the message prefix ("Conversion Error: …"),
 *       so this class translates it where the driver throws: a value DuckDB cannot hold is DATA
 *       (after rolling the whole write back), a file locked by another process CONNECTIVITY (the
 *       pipeline retries), anything else INTERNAL.</li>
 * </ul>
 */
final class DuckDbSink implements Sink {
    private static final Logger LOG = LoggerFactory.getLogger(DuckDbSink.class);
    static final String OFFSETS = "\"_ferry\".\"offsets\"";

    private final String pipelineName;
    private final Path file;
    private final boolean mirror;
    private final boolean history;
    private final int memoryLimitMb;
    private final int checkpointMb;
    private final Map<TableId, TableWriter> writers = new HashMap<>();
    private DuckDBConnection db;
    /** The statement that moves the stored offset, once the row exists; null until first used. */
    private PreparedStatement updateOffset;
    /** The committed offset as stored; -1 for none; null until read. */
    private Long committedOffset;

    DuckDbSink(String pipelineName, Path file, boolean mirror, boolean history, int memoryLimitMb, int checkpointMb) {
        this.pipelineName = pipelineName;
        this.file = file;
        this.mirror = mirror;
        this.history = history;
        this.memoryLimitMb = memoryLimitMb;
        this.checkpointMb = checkpointMb;
    }

    @Override
    public List<Check> check() {
        List<Check> out = new ArrayList<>();
        Path folder = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(folder);
            Files.delete(Files.createTempFile(folder, "ferry-check", ".tmp"));
            out.add(Check.ok("DuckDB folder", folder + " is writable"));
        } catch (IOException e) {
            out.add(Check.problem("DuckDB folder", "cannot write to " + folder + ": " + e.getMessage(),
                    "Create the folder and make it writable, or set the sink's path: to a file in another folder."));
            return out;
        }
        boolean openedHere = db == null;
        try {
            open();
            readCommitted();
            out.add(Check.ok("DuckDB file", file + " opens for writing"
                    + (committedOffset >= 0 ? "; committed up to offset " + committedOffset : "; nothing written yet")));
        } catch (FerryException e) {
            out.add(Check.problem("DuckDB file", e.getMessage(), e.kind() == ErrorKind.CONNECTIVITY
                    ? "Close the other program that has the file open (DuckDB allows one writing process per file), or "
                    + "give this sink a file of its own." : "See the detail."));
        } finally {
            if (openedHere) {
                close();
            }
        }
        return out;
    }

    @Override
    public Optional<Offset> committed() throws FerryException {
        open();
        committedOffset = null;
        readCommitted();
        return committedOffset < 0 ? Optional.empty() : Optional.of(Offset.of(committedOffset));
    }

    private void open() throws FerryException {
        if (db != null) {
            return;
        }
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new FerryException(ErrorKind.PREREQUISITE, "Cannot create the folder of the DuckDB file " + file + ": "
                    + e.getMessage() + ". Create it and make it writable, or set the sink's path: elsewhere.", e);
        }
        Properties props = new Properties();
        props.setProperty("memory_limit", memoryLimitMb + "MB");
        props.setProperty("checkpoint_threshold", checkpointMb + "MB");
        try {
            db = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:" + file.toAbsolutePath(), props);
            db.setAutoCommit(false);
        } catch (SQLException e) {
            db = null;
            throw translate(e, "open the DuckDB file", null);
        }
    }

    /** Reads the stored offset once per connection, refusing a file that belongs to another pipeline. */
    private void readCommitted() throws FerryException {
        if (committedOffset != null) {
            return;
        }
        long found = -1;
        try (Statement s = db.createStatement()) {
            boolean exists;
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                    + "AND schema_name = '_ferry' AND table_name = 'offsets'")) {
                rs.next();
                exists = rs.getLong(1) > 0;
            }
            if (exists) {
                try (ResultSet rs = s.executeQuery("SELECT pipeline, \"offset\" FROM " + OFFSETS)) {
                    while (rs.next()) {
                        if (!rs.getString(1).equals(pipelineName)) {
                            throw FerryException.config("The DuckDB file " + file + " belongs to pipeline " + rs.getString(1)
                                    + ", not " + pipelineName + ". Give each pipeline its own DuckDB file (the sink's path:).");
                        }
                        found = rs.getLong(2);
                    }
                }
            }
            db.commit();
        } catch (SQLException e) {
            throw translate(e, "read the committed offset", null);
        }
        committedOffset = found;
    }

    @Override
    public void write(List<ChangeEvent> events, Offset last) throws FerryException {
        open();
        readCommitted();
        if (last.value() <= committedOffset) {
            return; // written before a crash, or an empty write that moves nothing
        }
        // events are offsets (last - size, last]; what is already committed is not written again
        long first = last.value() - events.size() + 1;
        int skip = (int) Math.max(0, Math.min(events.size(), committedOffset - first + 1));
        Map<TableId, List<Integer>> byTable = new LinkedHashMap<>();
        for (int i = skip; i < events.size(); i++) {
            byTable.computeIfAbsent(events.get(i).table(), t -> new ArrayList<>()).add(i);
        }
        List<Part> parts = new ArrayList<>(byTable.size());
        for (Map.Entry<TableId, List<Integer>> entry : byTable.entrySet()) {
            List<ChangeEvent> tableEvents = new ArrayList<>(entry.getValue().size());
            long[] offsets = new long[entry.getValue().size()];
            for (int n = 0; n < offsets.length; n++) {
                int i = entry.getValue().get(n);
                tableEvents.add(events.get(i));
                offsets[n] = first + i;
            }
            parts.add(new Part(entry.getKey(), tableEvents, offsets));
        }
        long started = System.nanoTime();
        inTransaction(parts, false, () -> {
            long applied = System.nanoTime();
            storeOffset(last);
            CrashPoints.reach("duckdb.before-commit");
            LOG.debug("applied {} events of {} tables up to offset {} in {} ms; committing", events.size() - skip, byTable.size(),
                    last, (applied - started) / 1_000_000);
        });
        committedOffset = last.value();
    }

    /**
     * Applies a dead-lettered event at its own Log offset, in a transaction of its own, leaving the
     * committed offset as it is: the mirror by key, the history row of that offset replaced (so a
     * replay done twice leaves one).
     */
    @Override
    public void replay(ChangeEvent event, Offset offset) throws FerryException {
        open();
        readCommitted();
        inTransaction(List.of(new Part(event.table(), List.of(event), new long[] {offset.value()})), true, () -> { });
        LOG.info("replayed the {} of {} at Log offset {}", event.op().name().toLowerCase(java.util.Locale.ROOT), event.table(),
                offset);
    }

    /** One table's events of a transaction, with their Log offsets. */
    private record Part(TableId table, List<ChangeEvent> events, long[] offsets) {
    }

    private interface SqlStep {
        void run() throws SQLException, FerryException;
    }

    /**
     * Writes the parts and commits, with {@code beforeCommit} last inside the transaction; rolls
     * everything back on any failure, translated into a FerryException.
     *
     * @param replacing the events' history rows replace those of the same offsets (a replay)
     */
    private void inTransaction(List<Part> parts, boolean replacing, SqlStep beforeCommit) throws FerryException {
        try {
            attempt(parts, replacing, beforeCommit);
        } catch (TableAppender.KeyTaken e) {
            if (db == null) {
                // the rollback failed and closed the connection: the write (nothing of it committed) goes
                // again on a new one, which reads the mirror's keys and the stored offset afresh
                open();
                readCommitted();
            }
            // the writer's bound of the mirror's keys was stale: a row was added outside Ferry since it read
            // them. The rollback made it forget them; written again, the row's key is found and replaced
            // (deleted, then appended), as an upsert does: Ferry's row wins.
            LOG.warn("{}; reading the mirror's keys again and writing again: the pipeline's row replaces that one",
                    e.getMessage());
            try {
                attempt(parts, replacing, beforeCommit);
            } catch (TableAppender.KeyTaken again) {
                throw keyTaken(again);
            }
        }
    }

    /** A key the mirror holds, met again with its keys read afresh: not a stale bound, a DATA error. */
    private FerryException keyTaken(TableAppender.KeyTaken e) {
        return new FerryException(ErrorKind.DATA, e.getMessage() + " (file " + file + "). A row of that key is there "
                + "already, even with the mirror's keys read again (is the table's primary key still the source's?). "
                + "The write was rolled back.", e);
    }

    /**
     * One try of {@link #inTransaction}: a {@link TableAppender.KeyTaken} goes up after the rollback,
     * for the caller to try again.
     */
    private void attempt(List<Part> parts, boolean replacing, SqlStep beforeCommit) throws FerryException,
            TableAppender.KeyTaken {
        Part current = null;
        try {
            for (Part part : parts) {
                current = part;
                List<ChangeEvent> events = part.events();
                writer(events.get(events.size() - 1).schema()).write(events, part.offsets(), TableWriter.columnsOf(events),
                        replacing);
            }
            current = null;
            beforeCommit.run();
            db.commit();
        } catch (TableAppender.KeyTaken e) {
            rollback();
            throw e;
        } catch (SQLException e) {
            rollback();
            FerryException translated = translate(e, "write", current == null ? null : current.table());
            if (translated.kind() == ErrorKind.DATA && current != null) {
                throw diagnosed(translated, current.table(), current.events());
            }
            throw translated;
        } catch (CarrierValues.Unstorable e) {
            rollback();
            throw new FerryException(ErrorKind.DATA, "Cannot write table " + (current == null ? null : current.table())
                    + " to the DuckDB file " + file + ": " + e.getMessage() + ". The write was rolled back.", e);
        } catch (FerryException e) {
            rollback();
            throw e;
        } catch (RuntimeException e) {
            rollback(); // nothing of a failed write may stay
            throw new FerryException(ErrorKind.INTERNAL, "The DuckDB sink failed writing" + (current == null ? ""
                    : " table " + current.table()) + " to " + file + ": " + e + ". The write was rolled back.", e);
        }
    }

    /** Rows appended straight into mirrors, without staging, by this connection's writers: for tests. */
    long appendedRows() {
        return writers.values().stream().mapToLong(TableWriter::appendedRows).sum();
    }

    /** The writer of a table, made anew when the source's key changed. */
    private TableWriter writer(TableSchema schema) {
        List<String> keys = new ArrayList<>();
        for (int i : schema.keyIndexes()) {
            keys.add(schema.column(i).name());
        }
        TableWriter w = writers.get(schema.table());
        if (w == null || !w.keyNames().equals(keys)) {
            w = new TableWriter(db, schema.table(), mirror, history, keys);
            writers.put(schema.table(), w);
            if (mirror && !w.hasMirror()) {
                LOG.warn("Table {} has no primary key (replica identity FULL or none): the DuckDB sink keeps only its history "
                        + "table {}{}, not a mirror, since rows cannot be matched reliably without a key. Add a primary key "
                        + "to get a mirror.", schema.table(), schema.table(), TableWriter.HISTORY_SUFFIX);
            }
        }
        return w;
    }

    private void storeOffset(Offset last) throws SQLException {
        if (committedOffset >= 0) {
            // the row exists: one UPDATE, prepared once per connection (preparing costs as much as running it)
            if (updateOffset == null) {
                updateOffset = db.prepareStatement("UPDATE " + OFFSETS + " SET \"offset\" = ?, committed_at = current_timestamp "
                        + "WHERE pipeline = ?");
            }
            updateOffset.setLong(1, last.value());
            updateOffset.setString(2, pipelineName);
            if (updateOffset.executeUpdate() == 1) {
                return;
            }
        }
        try (Statement s = db.createStatement()) { // the first commit into this file creates the table
            s.execute("CREATE SCHEMA IF NOT EXISTS \"_ferry\"");
            s.execute("CREATE TABLE IF NOT EXISTS " + OFFSETS + " (pipeline VARCHAR PRIMARY KEY, \"offset\" BIGINT NOT NULL, "
                    + "committed_at TIMESTAMP WITH TIME ZONE NOT NULL)");
        }
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO " + OFFSETS + " VALUES (?, ?, current_timestamp) "
                + "ON CONFLICT (pipeline) DO UPDATE SET \"offset\" = EXCLUDED.\"offset\", committed_at = EXCLUDED.committed_at")) {
            ps.setString(1, pipelineName);
            ps.setLong(2, last.value());
            ps.execute();
        }
    }

    private void rollback() {
        writers.values().forEach(TableWriter::forgetColumns);
        if (db == null) {
            return;
        }
        try {
            db.rollback();
        } catch (SQLException e) {
            LOG.debug("rollback of the DuckDB file {} failed; reopening it", file, e);
            close();
        }
    }

    /** A DATA error, with the column and value DuckDB cannot store when one cast shows it. */
    private FerryException diagnosed(FerryException error, TableId table, List<ChangeEvent> events) {
        TableWriter w = writers.get(table);
        String found = null;
        try {
            found = w.diagnose(events, TableWriter.columnsOf(events));
        } catch (SQLException | RuntimeException e) {
            LOG.debug("could not find the column behind a DuckDB error", e);
        } finally {
            rollback();
        }
        return found == null ? error : new FerryException(ErrorKind.DATA, "Cannot write table " + table
                + " to the DuckDB file " + file + ": " + found + ". The write was rolled back.", error.getCause());
    }

    /**
     * Classifies a DuckDB error by the class DuckDB puts in front of its message.
     *
     * @param table the table being written, or null
     */
    FerryException translate(SQLException e, String what, TableId table) {
        String message = String.valueOf(e.getMessage()).replace('\n', ' ').trim();
        if (message.startsWith(TableAppender.FAILED_TO_APPEND)) {
            // an appender's flush: DuckDB's own message follows, with its class in front
            message = message.substring(TableAppender.FAILED_TO_APPEND.length());
        }
        if (message.endsWith(".")) {
            message = message.substring(0, message.length() - 1);
        }
        String where = table == null ? "" : " table " + table;
        if (message.contains("Could not set lock") || message.contains("Conflicting lock")) {
            close();
            return new FerryException(ErrorKind.CONNECTIVITY, "Cannot " + what + " " + file + ": another process holds it. "
                    + message + ". DuckDB allows one writing process per file: close the other program (a DuckDB shell, "
                    + "a notebook) or give this sink its own file.", e);
        }
        if (message.startsWith("Conversion Error") || message.startsWith("Constraint Error")
                || message.startsWith("Invalid Input Error") || message.startsWith("Out of Range Error")
                || message.startsWith("Mismatch Type Error")
                // an appender's flush names a constraint without the class
                || message.startsWith("Duplicate key") || message.contains("constraint failed")) {
            return new FerryException(ErrorKind.DATA, "Cannot write" + where + " to the DuckDB file " + file + ": " + message
                    + ". The write was rolled back.", e);
        }
        if (message.contains("Cannot change the type of a column that has a UNIQUE or PRIMARY KEY constraint")
                || message.contains("conflict target") && message.contains("UNIQUE/PRIMARY KEY")) {
            // DuckDB cannot alter a key column or a table's key in place: the mirror must be made anew
            close();
            return new FerryException(ErrorKind.PREREQUISITE, "Cannot write" + where + " to the DuckDB file " + file
                    + ": its primary key changed at the source (a key column's type, or the key's columns), and DuckDB "
                    + "cannot change a table's key in place (" + message + "). The write was rolled back. Drop the "
                    + "mirror table" + where + " in the DuckDB file, run again, and fill it with ferry snapshot -c FILE "
                    + "--table T.", e);
        }
        close(); // the connection may be unusable; the next call opens it again
        String hint = message.startsWith("Out of Memory Error") ? " Raise the sink's memory_limit_mb." : "";
        return new FerryException(ErrorKind.INTERNAL, "Cannot " + what + where + " in the DuckDB file " + file + ": "
                + message + "." + hint, e);
    }

    @Override
    public void close() {
        if (db != null) {
            try {
                if (updateOffset != null) {
                    updateOffset.close();
                }
                db.close();
            } catch (SQLException e) {
                LOG.debug("closing the DuckDB file {}", file, e);
            }
            db = null;
            updateOffset = null;
            committedOffset = null;
            writers.clear();
        }
    }
}
