package dev.ferry.sink.parquet;

import static dev.ferry.sink.duckdb.DuckDbTypes.quote;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.sink.duckdb.CarrierValues;
import dev.ferry.sink.files.FileFormat;
import dev.ferry.sink.files.HistoryRows;
import dev.ferry.sink.files.MirrorFormat;
import dev.ferry.source.Check;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parquet files written by DuckDB's own Parquet writer, through an in-memory DuckDB that holds
 * nothing between writes: the history rows are staged with DuckDB's Appender into a temporary table
 * of carrier columns, then one {@code COPY (SELECT casts …) TO 'file' (FORMAT parquet)} writes the
 * file with its stored types ({@link ParquetTypes}), ordered by Log offset. The duckdb sink ships the
 * same driver, so Parquet costs the CLI's jar nothing; parquet-java would bring Hadoop's classes along.
 */
final class ParquetFormat implements FileFormat, MirrorFormat {
    private static final Logger LOG = LoggerFactory.getLogger(ParquetFormat.class);
    private static final String STAGE = "_ferry_parquet_stage";
    private static final Column UNCHANGED = new Column("_ferry_unchanged", LogicalType.ARRAY, LogicalType.STRING, "text[]", false);

    private final String compression;
    private final int rowGroupRows;
    private final int memoryLimitMb;
    private final Path spillFolder;
    private DuckDBConnection db;

    /**
     * @param compression  zstd, snappy, gzip or uncompressed
     * @param rowGroupRows the most rows in one Parquet row group
     * @param spillFolder  where DuckDB spills beyond its memory limit (a mirror's compaction)
     */
    ParquetFormat(String compression, int rowGroupRows, int memoryLimitMb, Path spillFolder) {
        this.compression = compression;
        this.rowGroupRows = rowGroupRows;
        this.memoryLimitMb = memoryLimitMb;
        this.spillFolder = spillFolder;
    }

    @Override
    public String name() {
        return "Parquet";
    }

    @Override
    public String extension() {
        return "parquet";
    }

    private DuckDBConnection db() throws SQLException {
        if (db == null) {
            Connection c = DriverManager.getConnection("jdbc:duckdb:");
            try (Statement s = c.createStatement()) {
                s.execute("SET memory_limit = '" + memoryLimitMb + "MB'");
                s.execute("SET TimeZone = 'UTC'");
                s.execute("SET temp_directory = " + literal(spillFolder));
            }
            db = c.unwrap(DuckDBConnection.class);
        }
        return db;
    }

    /** Whether DuckDB, which writes the files, loads on this machine (its native library). */
    @Override
    public List<Check> check() {
        try (Statement s = db().createStatement(); ResultSet rs = s.executeQuery("SELECT version()")) {
            rs.next();
            return List.of(Check.ok("Parquet writer", "DuckDB " + rs.getString(1) + " loads"));
        } catch (SQLException | RuntimeException | LinkageError e) {
            return List.of(Check.problem("Parquet writer", "DuckDB, which writes the Parquet files, does not load: " + e,
                    "DuckDB's driver ships native libraries for Linux (x86-64, arm64), macOS (arm64) and Windows (x86-64); "
                            + "run Ferry on one of them, or use the csv or jsonl sink here."));
        } finally {
            close();
        }
    }

    @Override
    public void write(Path file, List<Column> columns, List<ChangeEvent> events, long[] offsets) throws IOException, FerryException {
        String table = events.get(0).table().toString();
        try {
            try (Statement s = db().createStatement()) {
                stage(s, columns, events, offsets, table);
                s.execute("COPY (" + select(columns) + " ORDER BY _ferry_offset) TO " + literal(file)
                        + " (FORMAT parquet, COMPRESSION " + compression + ", ROW_GROUP_SIZE " + rowGroupRows + ")");
                s.execute("DROP TABLE " + STAGE);
            }
        } catch (SQLException e) {
            String value = diagnose(columns);
            if (value != null) {
                throw new FerryException(ErrorKind.DATA, "Parquet sink, table " + table + ", " + value + ". Parquet files of "
                        + "this column cannot hold it; the event goes where record_errors says.", e);
            }
            if (!Files.exists(file.getParent())) {
                throw new IOException(e.getMessage(), e);
            }
            throw new FerryException(ErrorKind.INTERNAL, "DuckDB could not write the Parquet file " + file + " of table "
                    + table + ": " + e.getMessage(), e);
        }
    }

    /** Stages the history rows, carrier columns named by position ({@code c0, c1, …}). */
    private void stage(Statement s, List<Column> columns, List<ChangeEvent> events, long[] offsets, String table)
            throws SQLException, FerryException {
        StringJoiner ddl = new StringJoiner(", ", "CREATE OR REPLACE TEMP TABLE " + STAGE + " (", ")");
        ddl.add("_ferry_offset BIGINT").add("_ferry_op VARCHAR").add("_ferry_position VARCHAR")
                .add("_ferry_committed_at VARCHAR").add("_ferry_tx_id BIGINT").add("_ferry_unchanged VARCHAR");
        for (int i = 0; i < columns.size(); i++) {
            ddl.add("c" + i + " " + ParquetTypes.carrier(columns.get(i)));
        }
        s.execute(ddl.toString());
        try (DuckDBAppender a = db.createAppender("temp", "main", STAGE)) {
            for (int n = 0; n < offsets.length; n++) {
                ChangeEvent e = events.get(n);
                a.beginRow();
                a.append(offsets[n]);
                a.append(String.valueOf(e.op().code()));
                a.append(e.position().display());
                a.append(e.committedAt().toString());
                Long tx = HistoryRows.txId(e);
                if (tx == null) {
                    a.appendNull();
                } else {
                    a.append(tx.longValue());
                }
                List<String> unchanged = HistoryRows.unchanged(e);
                if (unchanged == null) {
                    a.appendNull();
                } else {
                    a.append((String) CarrierValues.of(UNCHANGED, unchanged));
                }
                for (Column c : columns) {
                    append(a, c, HistoryRows.value(e, c), table, offsets[n]);
                }
                a.endRow();
            }
            // flushed here: the driver's close() flushes too but drops the error (memory or spill space short), and
            // the file would be written without the rows the flush lost
            a.flush();
        }
    }

    private static void append(DuckDBAppender a, Column c, Object value, String table, long offset)
            throws SQLException, FerryException {
        if (value == null) {
            a.appendNull();
            return;
        }
        Object carried;
        try {
            carried = ParquetTypes.carried(c, value);
        } catch (RuntimeException e) {
            throw new FerryException(ErrorKind.DATA, "Parquet sink, table " + table + ", column " + c.name() + " ("
                    + c.sourceType() + ") at Log offset " + offset + ": " + e.getMessage(), e);
        }
        if (carried instanceof Boolean b) {
            a.append(b.booleanValue());
        } else if (carried instanceof Long l) {
            a.append(l.longValue());
        } else if (carried instanceof Double d) {
            a.append(d.doubleValue());
        } else {
            a.append((String) carried);
        }
    }

    private static String select(List<Column> columns) {
        StringJoiner values = new StringJoiner(", ", "SELECT ", " FROM " + STAGE);
        values.add("_ferry_offset").add("_ferry_op").add("_ferry_position")
                .add("CAST(_ferry_committed_at AS TIMESTAMP WITH TIME ZONE) AS _ferry_committed_at").add("_ferry_tx_id")
                .add("CAST(CAST(_ferry_unchanged AS JSON) AS VARCHAR[]) AS _ferry_unchanged");
        for (int i = 0; i < columns.size(); i++) {
            Column c = columns.get(i);
            values.add(ParquetTypes.fromCarrier(c, "c" + i) + " AS " + quote(c.name()));
        }
        return values.toString();
    }

    /**
     * After a failed COPY: the first column whose cast fails on a staged value, with that value, or
     * null when no cast fails (the failure was not a value's).
     */
    private String diagnose(List<Column> columns) {
        try (Statement s = db().createStatement()) {
            for (int i = 0; i < columns.size(); i++) {
                Column c = columns.get(i);
                String staged = "c" + i;
                try (ResultSet rs = s.executeQuery("SELECT _ferry_offset, CAST(" + staged + " AS VARCHAR) FROM " + STAGE
                        + " WHERE " + staged + " IS NOT NULL AND try(" + ParquetTypes.fromCarrier(c, staged) + ") IS NULL LIMIT 1")) {
                    if (rs.next()) {
                        String v = rs.getString(2);
                        return "column " + c.name() + " (" + c.sourceType() + ", stored as " + ParquetTypes.stored(c)
                                + ") at Log offset " + rs.getLong(1) + ": the value " + (v.length() > 200 ? v.substring(0, 200) + "…" : v);
                    }
                }
            }
        } catch (SQLException e) {
            LOG.debug("diagnosing a failed Parquet write", e);
        }
        return null;
    }

    /**
     * The mirror by one {@code COPY}: the history rows after {@code after} and the previous mirror's
     * rows (as reads at their own offsets), per key the newest row after the last truncate, deletes
     * dropped; each column's value is the newest one its key's changes sent (a column listed in
     * {@code _ferry_unchanged} keeps the one before, across key changes too: {@link KeyMoves}); a
     * key's newest row is left out when a later update changed that key. Files written before the
     * {@code _ferry_before_<key>} columns existed have none, and leave such rows in. Not
     * {@code QUALIFY row_number()}: DuckDB 2.0 turns -0.0 inside lists into 0.0 there.
     */
    @Override
    public void writeMirror(Path file, Path previous, long after, List<Path> history, List<String> keyColumns)
            throws IOException, FerryException {
        StringJoiner files = new StringJoiner(", ", "[", "]");
        history.forEach(f -> files.add(literal(f)));
        String source = "(SELECT * FROM read_parquet(" + files + ", union_by_name = true, hive_partitioning = false) "
                + "WHERE _ferry_offset > " + after + (previous == null ? "" : " UNION ALL BY NAME SELECT * FROM read_parquet("
                + literal(previous) + ")") + ")";
        try (Statement s = db().createStatement()) {
            List<String> columns = new ArrayList<>();
            List<String> ferryColumns = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("SELECT column_name FROM (DESCRIBE SELECT * FROM " + source + ")")) {
                while (rs.next()) {
                    (rs.getString(1).startsWith("_ferry_") ? ferryColumns : columns).add(rs.getString(1));
                }
            }
            KeyMoves keys = new KeyMoves(keyColumns);
            // files written before the _ferry_before_ columns existed have no key changes to follow; nor, mostly,
            // have the changes since the previous mirror: then the compaction is the plain one, by key
            boolean moves = keyColumns.stream().allMatch(k -> ferryColumns.contains(HistoryRows.BEFORE_KEY + k))
                    && keyChanges(s, source, keyColumns.get(0));
            String partition = moves ? "_ferry_lineage" : keys.key("t");
            StringJoiner carried = new StringJoiner(", ");
            StringJoiner values = new StringJoiner(", ");
            for (String c : columns) {
                carried.add("last_value(CASE WHEN NOT list_contains(coalesce(_ferry_unchanged, []), '" + c.replace("'", "''")
                        + "') THEN {'v': " + quote(c) + "} END IGNORE NULLS) OVER (PARTITION BY " + partition + " ORDER BY "
                        + "_ferry_offset ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS " + quote(c));
                values.add(quote(c) + ".v AS " + quote(c));
            }
            s.execute("COPY (WITH RECURSIVE h AS (SELECT * FROM " + source + "), t AS (SELECT * FROM h WHERE _ferry_offset > "
                    + "coalesce((SELECT max(_ferry_offset) FROM h WHERE _ferry_op = 't'), -1))" + (moves ? keys.withLineage("t", "l") : "")
                    + ", w AS (SELECT _ferry_offset, _ferry_op, " + keys.key("t") + " AS _ferry_key, " + carried + " FROM "
                    + (moves ? "l" : "t") + " t) SELECT _ferry_offset, " + values + " FROM w WHERE coalesce(_ferry_op, 'r') <> 'd' "
                    + "AND _ferry_offset IN (SELECT max(_ferry_offset) FROM w GROUP BY _ferry_key)"
                    + (moves ? " AND NOT " + keys.movedAway("t", "w") : "") + " ORDER BY _ferry_offset) TO " + literal(file)
                    + " (FORMAT parquet, COMPRESSION " + compression + ", ROW_GROUP_SIZE " + rowGroupRows + ")");
        } catch (SQLException e) {
            throw new FerryException(ErrorKind.INTERNAL, "DuckDB could not compact the mirror " + file + " from " + history.size()
                    + " history files" + (previous == null ? "" : " and " + previous) + ": " + e.getMessage(), e);
        }
    }

    /** Whether the history rows of {@code source} hold an update that changed the key. */
    private static boolean keyChanges(Statement s, String source, String firstKeyColumn) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT EXISTS (SELECT 1 FROM " + source + " WHERE "
                + quote(HistoryRows.BEFORE_KEY + firstKeyColumn) + " IS NOT NULL)")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static String literal(Path file) {
        return "'" + file.toString().replace("'", "''") + "'";
    }

    @Override
    public void close() {
        if (db != null) {
            try {
                db.close();
            } catch (SQLException e) {
                LOG.debug("closing the in-memory DuckDB", e);
            }
            db = null;
        }
    }
}
