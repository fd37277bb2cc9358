package dev.ferry.postgres;

import static dev.ferry.postgres.PostgresConnections.quoteIdent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.log.CrashPoints;
import dev.ferry.log.DurableFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots that hold no long transaction: a table is read in chunks by key (keyset pagination in
 * the key index's order), each chunk one short statement between two watermarks written through
 * the WAL, in the spirit of Netflix's DBLog:
 * <ol>
 *   <li>a low watermark, {@code pg_logical_emit_message(true, 'ferry:<slot>', 'snapshot-low <id>')};</li>
 *   <li>the chunk: {@code SELECT ... WHERE key > last ORDER BY key LIMIT n}, kept in memory;</li>
 *   <li>a high watermark, {@code 'snapshot-high <id>'}.</li>
 * </ol>
 * The stream goes on all along. Between the two watermarks, a streamed change of a key in the chunk
 * removes that key from it: the change is as new as the row read, or newer. At the high watermark,
 * the rows left are emitted as reads, placed in the watermark's transaction: every change before
 * the low watermark is older than them, every change after the high one newer, and changes in
 * between were removed. Streaming never waits for a snapshot, and a snapshot never holds back vacuum.
 *
 * <p>Up to {@code chunksInFlight} chunks are read ahead of the stream, one after the other (their
 * watermarks follow each other in the WAL, each chunk's pair enclosing only its own read), so the
 * snapshot is not held to one chunk per trip of the decoder; memory holds at most that many chunks.
 *
 * <p>Progress is recorded per table in {@code progress.json} of the snapshot folder: the last key of
 * the last chunk whose reads are durable in the Log, written before that position is confirmed to
 * the server. A restart goes on from there, reading again at most the chunk in flight. Requests
 * ({@code ferry snapshot}) arrive as files in the same folder, written by the operator's command.
 */
final class ChunkedSnapshots {
    private static final Logger LOG = LoggerFactory.getLogger(ChunkedSnapshots.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String LOW = "snapshot-low";
    private static final String HIGH = "snapshot-high";
    private static final long REQUEST_SCAN_MILLIS = 1000;

    /** One table to read, and how far it got. */
    static final class Job {
        final String id;
        final TableId table;
        final String where;
        /** The last key of the last chunk durable in the Log (texts), or null before the first. */
        List<String> lastKey;
        /** The last key read, durable or not: where the next chunk starts. */
        List<String> cursor;
        long chunks;
        long rows;
        boolean exhausted;
        /** Why the job stopped for good (a bad condition, no key any more), or null. Kept, shown, not retried. */
        String failed;
        /** The table's estimated rows (pg_class.reltuples) when this run took the job up; -1 unknown. */
        long estimate = -1;
        /** When this run took the job up, and its rows then: the rate and ETA are this run's. */
        long startMillis;
        long startRows;

        Job(String id, TableId table, String where, List<String> lastKey, long chunks, long rows) {
            this.id = id;
            this.table = table;
            this.where = where;
            this.lastKey = lastKey;
            this.cursor = lastKey;
            this.chunks = chunks;
            this.rows = rows;
        }
    }

    /** A chunk read between its watermarks, waiting for the high one. */
    private static final class Window {
        final String id;
        final Job job;
        final List<String> keyNames;
        /** Where the chunk started (the job's cursor before it): a chunk that must be read again starts here. */
        final List<String> start;
        final LinkedHashMap<List<Object>, Row> rows = new LinkedHashMap<>();
        TableSchema schema;
        List<String> lastKey;
        boolean last;
        boolean lowSeen;
        /** A change whose key could not be told (its table changed shape): the chunk is read again. */
        boolean spoiled;
        /** Transactions in progress for the chunk's read (low 32 bits of their xids). */
        java.util.Set<Long> inProgress = java.util.Set.of();

        Window(String id, Job job, List<String> keyNames) {
            this.id = id;
            this.job = job;
            this.keyNames = keyNames;
            this.start = job.cursor;
        }
    }

    /** A chunk emitted at its high watermark; its progress is recorded once {@code through} is durable. */
    private record Emitted(Job job, PgPosition through, List<String> lastKey, long rows, boolean last) {
    }

    private final Path folder;
    private final String prefix;
    private final int chunkRows;
    private final SnapshotThrottle throttle;
    private final int chunksInFlight;
    private final List<Job> jobs = new ArrayList<>();
    private final ArrayDeque<Emitted> emitted = new ArrayDeque<>();
    /** Chunks read, by id, in the order of their watermarks. */
    private final LinkedHashMap<String, Window> windows = new LinkedHashMap<>();
    private long nextReportMillis;
    /** When a chunk that waited too long may be tried again; null when none has. */
    private Long retryAfterNanos;
    /** The xids of the transactions the stream committed lately, to tell which a chunk's read could not see. */
    private final java.util.LinkedHashSet<Long> recentCommits = new java.util.LinkedHashSet<>();
    private static final int RECENT_COMMITS = 65_536;
    private static final long CHUNK_BYTES = 8L * 1024 * 1024;
    private long nextRequestScanMillis;

    /** Reads the progress left in {@code folder} by an earlier run. */
    ChunkedSnapshots(Path folder, String prefix, int chunkRows, SnapshotThrottle throttle, int chunksInFlight) {
        this.folder = folder;
        this.prefix = prefix;
        this.chunkRows = chunkRows;
        this.throttle = throttle;
        this.chunksInFlight = chunksInFlight;
        try {
            Path progress = folder.resolve("progress.json");
            if (Files.exists(progress)) {
                for (JsonNode j : MAPPER.readTree(progress.toFile()).path("jobs")) {
                    List<String> last = j.hasNonNull("last_key") ? texts(j.get("last_key")) : null;
                    Job job = new Job(j.get("id").asText(), new TableId(j.get("schema").asText(), j.get("table").asText()),
                            j.hasNonNull("where") ? j.get("where").asText() : null, last, j.get("chunks").asLong(),
                            j.get("rows").asLong());
                    job.failed = j.hasNonNull("failed") ? j.get("failed").asText() : null;
                    jobs.add(job);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the snapshot progress in " + folder, e);
        }
    }

    /** Asks for a snapshot of a table: a request file, taken up by the running pipeline or the next run. */
    static String request(Path folder, TableId table, String where) throws IOException {
        String id = UUID.randomUUID().toString();
        ObjectNode r = MAPPER.createObjectNode().put("id", id).put("schema", table.schema()).put("table", table.name())
                .put("where", where).put("requested_at", Instant.now().toString());
        DurableFiles.replace(folder.resolve("request-" + id + ".json"), MAPPER.writeValueAsBytes(r));
        return id;
    }

    /**
     * Queues the tables not queued yet (the first run of {@code snapshot: chunked}), durably, before
     * the slot is created.
     */
    void enqueueMissing(List<TableId> tables) {
        for (TableId t : tables) {
            if (jobs.stream().noneMatch(j -> j.table.equals(t) && j.where == null)) {
                jobs.add(new Job(UUID.randomUUID().toString(), t, null, null, 0, 0));
            }
        }
        save();
    }

    /** Whether nothing is left to read or to record. */
    boolean idle() {
        return jobs.stream().allMatch(j -> j.failed != null) && windows.isEmpty() && emitted.isEmpty()
                && !requestsWaiting();
    }

    /**
     * Takes up new requests, and reads the next chunks between their watermarks while fewer than
     * {@code chunksInFlight} are in flight and the throttle allows.
     */
    void step(Catalog catalog, Connection regular) throws SQLException {
        long now = System.currentTimeMillis();
        if (now >= nextRequestScanMillis) {
            nextRequestScanMillis = now + REQUEST_SCAN_MILLIS;
            takeRequests();
        }
        while (windows.size() < chunksInFlight && throttle.mayRead(System.nanoTime())
                && (retryAfterNanos == null || System.nanoTime() - retryAfterNanos >= 0) && readNext(catalog, regular)) {
            // one more chunk ahead of the stream
        }
    }

    /** Reads the next chunk of the first job with rows left; false when there is none, or it must wait. */
    private boolean readNext(Catalog catalog, Connection regular) throws SQLException {
        Job job = jobs.stream().filter(j -> !j.exhausted && j.failed == null).findFirst().orElse(null);
        if (job == null) {
            return false;
        }
        if (!catalog.exists(job.table)) {
            LOG.warn("Table {} was dropped: its snapshot ends here.", job.table);
            jobs.remove(job);
            save();
            return true;
        }
        List<String> keyNames = catalog.keyInIndexOrder(job.table);
        TableSchema schema = catalog.schema(job.table);
        if (keyNames.isEmpty() || keyNames.stream().anyMatch(k -> schema.indexOf(k) < 0)) {
            fail(job, "it has no primary key or replica identity index (or its key is a generated column); add "
                    + "one and run ferry snapshot again");
            return true;
        }
        if (job.estimate < 0) {
            job.estimate = catalog.estimatedRows(job.table);
            job.startMillis = System.currentTimeMillis();
            job.startRows = job.rows;
        }
        Window w = new Window(UUID.randomUUID().toString(), job, keyNames);
        w.schema = schema;
        watermark(regular, LOW, w.id);
        try {
            read(catalog, regular, w);
        } catch (SQLException e) {
            String state = String.valueOf(e.getSQLState());
            if (state.startsWith("08") || state.startsWith("57P")) {
                throw e; // the connection: the source reconnects
            }
            if (state.equals("57014") || state.equals("55P03")) {
                // the low watermark will arrive unknown and be ignored; try again in a while
                LOG.info("A chunk of {} waited too long ({}); trying again in 5 s", job.table, e.getMessage());
                retryAfterNanos = System.nanoTime() + 5_000_000_000L;
                return false;
            }
            fail(job, e.getMessage());
            return true;
        }
        watermark(regular, HIGH, w.id);
        windows.put(w.id, w);
        if (w.lastKey != null) {
            job.cursor = w.lastKey;
        }
        job.exhausted = w.last;
        throttle.chunkRead(w.rows.size(), System.nanoTime());
        return true;
    }

    private void fail(Job job, String why) {
        job.failed = why;
        LOG.error("The snapshot of {} stopped: {}. Other tables go on; ferry status shows it.", job.table, why);
        save();
    }

    /** The stream committed a transaction: a chunk read while it was not yet visible must not stand. */
    void committed(long xid) {
        recentCommits.add(xid & 0xFFFFFFFFL);
        if (recentCommits.size() > RECENT_COMMITS) {
            var it = recentCommits.iterator();
            it.next();
            it.remove();
        }
    }

    /** A watermark of this pipeline arrived in the stream; returns the chunk's reads at a high one. */
    List<ChangeEvent> watermark(String content, long lsn, long firstIndex, long txId, Instant committed) {
        String[] parts = content.split(" ");
        Window w = parts.length == 2 ? windows.get(parts[1]) : null;
        if (w == null) {
            return List.of(); // another run's, or not a watermark
        }
        if (parts[0].equals(LOW)) {
            w.lowSeen = true;
            // a transaction whose commit the stream delivered before the low watermark, but which the
            // chunk's read could not see yet (its commit record is written before it becomes visible):
            // its change was not reconciled, so the chunk may hold the row as it was before it
            for (Long xid : w.inProgress) {
                if (recentCommits.contains(xid)) {
                    w.spoiled = true;
                    break;
                }
            }
            return List.of();
        }
        if (!parts[0].equals(HIGH)) {
            return List.of();
        }
        windows.remove(w.id);
        if (!w.lowSeen || w.spoiled) {
            // read the chunk again from where it started; the job's later chunks in flight go with it
            windows.values().removeIf(later -> later.job == w.job);
            w.job.cursor = w.start;
            w.job.exhausted = false;
            return List.of();
        }
        List<ChangeEvent> out = new ArrayList<>(w.rows.size());
        long index = firstIndex;
        for (Row row : w.rows.values()) {
            out.add(new ChangeEvent(Op.READ, w.schema, null, row, java.util.Set.of(),
                    new PgPosition(lsn, false, index++), txId, committed));
        }
        PgPosition through = out.isEmpty() ? PgPosition.at(lsn) : (PgPosition) out.get(out.size() - 1).position();
        emitted.add(new Emitted(w.job, through, w.lastKey, out.size(), w.last));
        return out;
    }

    /** A streamed change: between the watermarks, the chunk gives way to it. */
    void observe(ChangeEvent e) {
        for (Window w : windows.values()) {
            if (!w.lowSeen || !e.table().equals(w.job.table)) {
                continue;
            }
            if (e.op() == Op.TRUNCATE) {
                w.rows.clear();
                continue;
            }
            for (Row row : new Row[] {e.before(), e.after()}) {
                if (row == null) {
                    continue;
                }
                List<Object> key = keyOf(row, e.schema(), w.keyNames);
                if (key == null) {
                    w.spoiled = true;
                    break;
                }
                w.rows.remove(key);
            }
        }
    }

    /**
     * Records the progress of every chunk whose reads are durable at {@code durable}; called before
     * that position is confirmed to the server.
     */
    void durable(PgPosition durable) {
        boolean changed = false;
        while (!emitted.isEmpty() && emitted.peek().through().compareTo(durable) <= 0) {
            Emitted e = emitted.poll();
            changed = true;
            Job job = e.job();
            if (e.lastKey() != null) {
                job.lastKey = e.lastKey();
            }
            job.chunks++;
            job.rows += e.rows();
            if (e.last()) {
                jobs.remove(job);
                LOG.info("Snapshot of {} finished: {} rows in {} chunks", job.table, String.format("%,d", job.rows),
                        job.chunks);
            }
        }
        if (changed) {
            CrashPoints.reach("postgres.snapshot-progress"); // tests: die with a chunk in the Log, not in the progress
            save();
            long now = System.currentTimeMillis();
            if (now >= nextReportMillis) {
                nextReportMillis = now + 5_000;
                describe().forEach((table, progress) -> LOG.info("{}: {}", table, progress));
            }
        }
    }

    /** Looks up each job's estimated size (for {@code ferry status}, in another process than the run). */
    void estimate(Catalog catalog) throws SQLException {
        for (Job j : jobs) {
            j.estimate = catalog.estimatedRows(j.table);
        }
    }

    /** Progress lines for {@code ferry status} and the run's log. */
    Map<String, String> describe() {
        Map<String, String> out = new LinkedHashMap<>();
        for (Job j : jobs) {
            StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%,d", j.rows));
            if (j.estimate > 0 && j.where == null) {
                b.append(String.format(Locale.ROOT, " of ~%,d rows (%d%%)", j.estimate,
                        Math.min(100, j.rows * 100 / j.estimate)));
            } else {
                b.append(" rows");
            }
            b.append(String.format(Locale.ROOT, " in %,d chunks", j.chunks));
            long seconds = (System.currentTimeMillis() - j.startMillis) / 1000;
            if (j.startMillis > 0 && seconds > 0 && j.rows > j.startRows) {
                long rate = (j.rows - j.startRows) / seconds;
                b.append(String.format(Locale.ROOT, ", %,d rows/s", rate));
                if (j.estimate > j.rows && j.where == null && rate > 0) {
                    b.append(String.format(Locale.ROOT, ", about %d s to go", (j.estimate - j.rows) / rate));
                }
            }
            if (j.where != null) {
                b.append(" (where ").append(j.where).append(')');
            }
            if (j.failed != null) {
                b.append("; STOPPED: ").append(j.failed);
            }
            out.put("snapshot " + j.table, b.toString());
        }
        return out;
    }

    /**
     * The source stopped with events lost after {@code returned} (a failure while stopping): chunks
     * emitted beyond it are not in the Log and must not be recorded as done.
     */
    void forgetBeyond(PgPosition returned) {
        emitted.removeIf(e -> e.through().compareTo(returned) > 0);
    }

    private void read(Catalog catalog, Connection regular, Window w) throws SQLException {
        Job job = w.job;
        List<Column> keys = new ArrayList<>();
        for (String k : w.keyNames) {
            keys.add(w.schema.column(w.schema.indexOf(k)));
        }
        String keyList = keys.stream().map(c -> quoteIdent(c.name())).collect(Collectors.joining(", "));
        StringBuilder sql = new StringBuilder("SELECT ")
                .append(w.schema.columns().stream().map(c -> quoteIdent(c.name())).collect(Collectors.joining(", ")))
                .append(" FROM ").append(catalog.isPartitioned(job.table) ? "" : "ONLY ")
                .append(quoteIdent(job.table.schema())).append('.').append(quoteIdent(job.table.name()))
                .append(" WHERE true");
        if (job.where != null) {
            sql.append(" AND (").append(job.where).append(')');
        }
        if (job.cursor != null) {
            // a row comparison walks the key index from the last key on
            sql.append(" AND (").append(keyList).append(") > (")
                    .append(keys.stream().map(c -> "?::" + c.sourceType()).collect(Collectors.joining(", "))).append(')');
        }
        sql.append(" ORDER BY ").append(keyList).append(" LIMIT ").append(chunkRows);
        CrashPoints.reach("postgres.snapshot-chunk");
        // one short, read-only transaction: the chunk and the list of transactions it cannot see
        regular.setAutoCommit(false);
        regular.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        regular.setReadOnly(true);
        try (Statement s = regular.createStatement()) {
            s.execute("SET LOCAL statement_timeout = '30s'");
            s.execute("SET LOCAL lock_timeout = '200ms'");
            try (ResultSet rs = s.executeQuery("SELECT pg_current_snapshot()::text")) {
                rs.next();
                w.inProgress = inProgress(rs.getString(1));
            }
            readRows(regular, w, keys, sql.toString());
            regular.commit();
        } catch (SQLException e) {
            try {
                regular.rollback();
            } catch (SQLException ignored) {
                // the connection is gone; the caller sees the first failure
            }
            throw e;
        } finally {
            regular.setAutoCommit(true);
            regular.setReadOnly(false);
            regular.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
        }
    }

    /** The xids (low 32 bits) in progress in a snapshot's text form {@code xmin:xmax:xip,...}. */
    static java.util.Set<Long> inProgress(String snapshot) {
        String[] parts = snapshot.split(":");
        java.util.Set<Long> out = new java.util.HashSet<>();
        if (parts.length == 3 && !parts[2].isEmpty()) {
            for (String xid : parts[2].split(",")) {
                out.add(Long.parseLong(xid) & 0xFFFFFFFFL);
            }
        }
        return out;
    }

    private void readRows(Connection regular, Window w, List<Column> keys, String sql) throws SQLException {
        Job job = w.job;
        try (PreparedStatement ps = regular.prepareStatement(sql)) {
            if (job.cursor != null) {
                for (int i = 0; i < job.cursor.size(); i++) {
                    ps.setString(i + 1, job.cursor.get(i));
                }
            }
            try (ResultSet rs = ps.executeQuery()) {
                int[] keyAt = keys.stream().mapToInt(c -> w.schema.indexOf(c.name())).toArray();
                String[] lastTexts = null;
                long bytes = 0;
                int read = 0;
                while (bytes < CHUNK_BYTES && rs.next()) {
                    read++;
                    Object[] values = new Object[w.schema.size()];
                    String[] texts = new String[w.schema.size()];
                    for (int i = 0; i < values.length; i++) {
                        texts[i] = rs.getString(i + 1);
                        bytes += texts[i] == null ? 1 : texts[i].length();
                        values[i] = TextValues.convert(w.schema.column(i), texts[i]);
                    }
                    Row row = Row.wrap(values);
                    w.rows.put(keyOf(row, w.schema, w.keyNames), row);
                    lastTexts = texts;
                }
                if (lastTexts != null) {
                    List<String> last = new ArrayList<>();
                    for (int i : keyAt) {
                        last.add(lastTexts[i]);
                    }
                    w.lastKey = last;
                }
                // a short chunk is the last; one cut at its byte limit is not
                w.last = read < chunkRows && bytes < CHUNK_BYTES;
            }
        }
    }

    private void watermark(Connection regular, String kind, String id) throws SQLException {
        try (PreparedStatement ps = regular.prepareStatement("SELECT pg_logical_emit_message(true, ?, ?)")) {
            ps.setString(1, prefix);
            ps.setString(2, kind + " " + id);
            ps.execute();
        }
    }

    /** The key of a row, comparable across the chunk and the stream; null when a key column is missing. */
    private static List<Object> keyOf(Row row, TableSchema schema, List<String> keyNames) {
        List<Object> key = new ArrayList<>(keyNames.size());
        for (String k : keyNames) {
            int i = schema.indexOf(k);
            if (i < 0) {
                return null;
            }
            Object v = row.get(i);
            key.add(v instanceof byte[] b ? HexFormat.of().formatHex(b) : v);
        }
        return key;
    }

    private boolean requestsWaiting() {
        try (Stream<Path> files = Files.isDirectory(folder) ? Files.list(folder) : Stream.empty()) {
            return files.anyMatch(ChunkedSnapshots::isRequest);
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean isRequest(Path p) {
        String name = p.getFileName().toString();
        return name.startsWith("request-") && name.endsWith(".json");
    }

    /** Moves request files into the progress: the progress is saved before the files are deleted. */
    private void takeRequests() {
        if (!Files.isDirectory(folder)) {
            return;
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(folder)) {
            files = s.filter(ChunkedSnapshots::isRequest).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read snapshot requests in " + folder, e);
        }
        if (files.isEmpty()) {
            return;
        }
        for (Path f : files) {
            try {
                JsonNode r = MAPPER.readTree(f.toFile());
                if (jobs.stream().anyMatch(j -> j.id.equals(r.get("id").asText()))) {
                    continue; // taken before a crash kept its file
                }
                TableId table = new TableId(r.get("schema").asText(), r.get("table").asText());
                String where = r.hasNonNull("where") ? r.get("where").asText() : null;
                jobs.add(new Job(r.get("id").asText(), table, where, null, 0, 0));
                LOG.info("Snapshot of {} requested{}; reading it in chunks of {} rows while streaming", table,
                        where == null ? "" : " (where " + where + ")", chunkRows);
            } catch (IOException | RuntimeException e) {
                LOG.warn("Ignoring the unreadable snapshot request {}: {}", f, e.getMessage());
            }
        }
        save();
        try {
            for (Path f : files) {
                Files.deleteIfExists(f);
            }
            DurableFiles.syncFolder(folder);
        } catch (IOException e) {
            LOG.warn("Could not delete the snapshot requests in {}: {}", folder, e.getMessage());
        }
    }

    private void save() {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode list = root.putArray("jobs");
        for (Job j : jobs) {
            ObjectNode n = list.addObject().put("id", j.id).put("schema", j.table.schema()).put("table", j.table.name())
                    .put("where", j.where).put("chunks", j.chunks).put("rows", j.rows).put("failed", j.failed);
            if (j.lastKey != null) {
                ArrayNode k = n.putArray("last_key");
                j.lastKey.forEach(k::add);
            }
        }
        try {
            DurableFiles.replace(folder.resolve("progress.json"), MAPPER.writeValueAsBytes(root));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record the snapshot progress in " + folder, e);
        }
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
