package dev.ferry.sink.postgres;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.TableId;
import dev.ferry.log.CrashPoints;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import org.postgresql.PGProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes change events into a PostgreSQL warehouse: per source table a mirror (the table as it is
 * now at the source) and, when enabled, an append-only history; the sink's offset lives in
 * {@code <schema>._ferry_offsets} and is written in the same transaction as the data.
 *
 * <p>Design notes.
 * <ul>
 *   <li>Exactly once: each {@link #write} is one transaction that starts by locking the pipeline's
 *       offset row ({@code SELECT ... FOR UPDATE}) and skips the events at or below it. A batch written
 *       again after a crash, a lost commit acknowledgement, or a second process leaves one copy.</li>
 *   <li>Order: events are applied per table in Log order. A truncate and a change of a table's schema
 *       end the part of the batch before them, which is written first; tables are independent.</li>
 *   <li>Failure: any error rolls the transaction back and closes the connection, so the next write
 *       starts from the catalog as it is (no cached staging table or schema survives a rollback).</li>
 * </ul>
 * Called from the sink's delivery thread only; {@link #committed} may come from {@code ferry status}
 * in another process, and only reads.
 */
final class PostgresSink implements Sink {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresSink.class);
    static final String OFFSETS = "_ferry_offsets";
    static final String TABLES = "_ferry_tables";

    private final String pipelineName;
    private final WarehouseSettings settings;
    private Connection connection;
    private boolean bootstrapped;
    private int stageNumbers;
    /** Counts write transactions, so that a staging table loaded twice in one is emptied in between. */
    private long transactions;
    private final Map<TableId, TargetTable> tables = new HashMap<>();
    private final Set<TableId> warnedKeyless = new HashSet<>();
    /** What the statement in flight is about, for error messages. */
    private TargetErrors.Doing doing;

    /** @param pipelineName the key of the sink's offset row: the pipeline's name, with its partition for a shared Log */
    PostgresSink(String pipelineName, WarehouseSettings settings) {
        this.pipelineName = pipelineName;
        this.settings = settings;
    }

    @Override
    public List<Check> check() {
        List<Check> checks = new ArrayList<>();
        String subject = "warehouse " + settings.address();
        Connection c;
        try {
            c = open();
        } catch (FerryException e) {
            checks.add(Check.problem(subject, e.getMessage(), "See the message: it says what to change."));
            return checks;
        }
        try (c; Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int, "
                    + "has_database_privilege(current_database(), 'CREATE'), has_database_privilege(current_database(), 'TEMP'), "
                    + "(SELECT has_schema_privilege(oid, 'CREATE') FROM pg_namespace WHERE nspname = " + literal(settings.schema())
                    + "), to_regclass(" + literal(Sql.qualified(settings.schema(), OFFSETS)) + ") IS NOT NULL")) {
                rs.next();
                int version = rs.getInt(1);
                boolean createInDatabase = rs.getBoolean(2);
                boolean temp = rs.getBoolean(3);
                Boolean createInSchema = (Boolean) rs.getObject(4);
                boolean bookkeeping = rs.getBoolean(5);
                checks.add(version >= 140000 ? Check.ok(subject, "reachable, PostgreSQL " + version / 10000)
                        : Check.warning(subject, "PostgreSQL " + version / 10000 + " cannot store Infinity in numeric "
                        + "columns (14 can)", "Upgrade the warehouse to PostgreSQL 14 or later if the source has "
                        + "infinite exact decimals; otherwise such rows are rejected as data errors."));
                String schema = "schema " + settings.schema();
                if (createInSchema == null) {
                    checks.add(createInDatabase ? Check.ok(schema, "does not exist yet; Ferry creates it")
                            : Check.problem(schema, "does not exist, and " + settings.user() + " may not create it",
                            "Run CREATE SCHEMA " + Sql.ident(settings.schema()) + " AUTHORIZATION "
                                    + Sql.ident(settings.user()) + "; or GRANT CREATE ON DATABASE "
                                    + Sql.ident(settings.database()) + " TO " + Sql.ident(settings.user()) + ";"));
                } else if (createInSchema) {
                    checks.add(Check.ok(schema, settings.user() + " may create the mirror and history tables"));
                } else {
                    checks.add(bookkeeping
                            ? Check.warning(schema, settings.user() + " may not create tables there, so every mirror and "
                            + "history table must exist already", "Run GRANT CREATE ON SCHEMA " + Sql.ident(settings.schema())
                            + " TO " + Sql.ident(settings.user()) + "; to let Ferry create tables for new source tables.")
                            : Check.problem(schema, settings.user() + " may not create tables there, and Ferry's own table "
                            + OFFSETS + " does not exist", "Run GRANT CREATE ON SCHEMA " + Sql.ident(settings.schema())
                            + " TO " + Sql.ident(settings.user()) + ";"));
                }
                checks.add(temp ? Check.ok("temporary tables", "allowed (the mirror is loaded through them)")
                        : Check.problem("temporary tables", settings.user() + " may not create temporary tables, "
                        + "through which the mirror is loaded", "Run GRANT TEMPORARY ON DATABASE "
                        + Sql.ident(settings.database()) + " TO " + Sql.ident(settings.user()) + ";"));
            }
        } catch (SQLException e) {
            checks.add(Check.problem(subject, TargetErrors.classify(e, settings, null).getMessage(),
                    "See the message: it says what to change."));
        }
        return checks;
    }

    @Override
    public Optional<Offset> committed() throws FerryException {
        try {
            Connection c = connection();
            try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
                ps.setString(1, Sql.qualified(settings.schema(), OFFSETS));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        c.rollback();
                        return Optional.empty();
                    }
                }
            }
            long offset = readOffset(c, false);
            c.rollback();
            return offset < 0 ? Optional.empty() : Optional.of(Offset.of(offset));
        } catch (SQLException e) {
            throw fail(TargetErrors.classify(e, settings, null));
        }
    }

    @Override
    public void write(List<ChangeEvent> events, Offset last) throws FerryException {
        retryOnceOnFreshStaging(() -> writeOnce(events, last));
    }

    /**
     * Applies a dead-lettered event at its own offset, in one transaction, leaving the committed offset
     * as it is. Idempotent: a history row of that offset from an earlier replay is replaced, and the
     * mirror applies by key.
     */
    @Override
    public void replay(ChangeEvent event, Offset offset) throws FerryException {
        retryOnceOnFreshStaging(() -> inTransaction("the replay of the event at Log offset " + offset, c -> {
            TargetTable t = tables.get(event.table());
            if (t == null || !t.schema.equals(event.schema())) {
                doing = new TargetErrors.Doing(event.table(), "(its tables)", List.of(offset.value()));
                t = TargetTable.prepare(c, settings, event.schema(), ++stageNumbers);
                tables.put(event.table(), t);
            }
            if (t.history != null) {
                int partition = settings.logPartition();
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + t.history
                        + " WHERE \"_ferry_offset\" = ?" + (partition < 0 ? "" : " AND \"_ferry_partition\" = " + partition))) {
                    ps.setLong(1, offset.value());
                    ps.executeUpdate();
                }
            }
            apply(c, List.of(event), offset.value());
            doing = null;
            c.commit();
            LOG.info("replayed the {} of {} at Log offset {}", event.op().name().toLowerCase(java.util.Locale.ROOT),
                    event.table(), offset);
        }));
    }

    private interface Attempt {
        void run() throws FerryException;
    }

    private void retryOnceOnFreshStaging(Attempt attempt) throws FerryException {
        boolean cached = !tables.isEmpty();
        try {
            attempt.run();
        } catch (FerryException e) {
            if (e.kind() != ErrorKind.DATA || !cached) {
                throw e;
            }
            // The staging tables copy the mirror's column types as they were when this connection made
            // them; a mirror altered since (a column narrowed in the warehouse) then fails in the upsert,
            // where PostgreSQL names no column. Once more on a fresh connection, the COPY says which.
            LOG.debug("write failed with a data error; trying once more with fresh staging tables: {}", e.getMessage());
            attempt.run();
        }
    }

    private void writeOnce(List<ChangeEvent> events, Offset last) throws FerryException {
        inTransaction("a batch ending at Log offset " + last, c -> {
            long committed = readOffset(c, true);
            if (committed >= last.value()) {
                c.rollback();
                return; // written before: a crash came between the commit and its acknowledgement
            }
            long first = last.value() - events.size() + 1;
            int skip = (int) Math.max(0, Math.min(events.size(), committed - first + 1));
            apply(c, events.subList(skip, events.size()), first + skip);
            doing = null;
            try (PreparedStatement ps = c.prepareStatement("UPDATE " + Sql.qualified(settings.schema(), OFFSETS)
                    + " SET \"offset\" = ?, committed_at = now() WHERE pipeline = ?")) {
                ps.setLong(1, last.value());
                ps.setString(2, pipelineName);
                ps.executeUpdate();
            }
            CrashPoints.reach("sink.before-commit");
            c.commit();
            LOG.debug("committed {} events up to offset {}", events.size() - skip, last);
        });
    }

    private interface Work {
        void run(Connection c) throws SQLException, IOException, FerryException;
    }

    /** Runs {@code work} in the sink's transaction; any failure rolls it back and is classified. */
    private void inTransaction(String what, Work work) throws FerryException {
        try {
            Connection c = connection();
            bootstrap(c);
            transactions++;
            work.run(c);
        } catch (SQLException e) {
            throw fail(TargetErrors.classify(e, settings, doing));
        } catch (IOException e) {
            // the COPY stream wraps the driver's failures
            SQLException sql = e.getCause() instanceof SQLException s ? s : new SQLException(e.getMessage(), "08006", e);
            throw fail(TargetErrors.classify(sql, settings, doing));
        } catch (FerryException e) {
            throw fail(e);
        } catch (RuntimeException e) {
            throw fail(FerryException.internal("The postgres sink failed on " + what + ": " + e
                    + ". The write was rolled back.", e));
        }
    }

    /** Applies events of offsets {@code first, first + 1, ...} in the open transaction. */
    private void apply(Connection c, List<ChangeEvent> events, long first) throws SQLException, IOException,
            FerryException {
        Map<TableId, Part> parts = new LinkedHashMap<>();
        for (int i = 0; i < events.size(); i++) {
            ChangeEvent e = events.get(i);
            long offset = first + i;
            TableId id = e.table();
            TargetTable t = tables.get(id);
            Part part = parts.get(id);
            if (t == null || (t.schema != e.schema() && !t.schema.equals(e.schema()))) {
                if (part != null) {
                    flush(c, part);
                    parts.remove(id);
                }
                doing = new TargetErrors.Doing(id, "(its tables)", List.of(offset));
                t = TargetTable.prepare(c, settings, e.schema(), ++stageNumbers);
                tables.put(id, t);
                if (t.mirror == null && warnedKeyless.add(id)) {
                    LOG.warn("source table {} has no primary key; it gets a history table {} but no "
                            + "mirror. Add a primary key at the source to get a mirror.", id, t.history);
                }
                part = null;
            }
            if (part == null) {
                part = new Part(t);
                parts.put(id, part);
            }
            part.add(e, offset);
            if (e.op() == Op.TRUNCATE) {
                flush(c, part);
                if (t.mirror != null) {
                    doing = new TargetErrors.Doing(id, t.mirror, List.of(offset));
                    t.truncateMirror(c);
                }
                parts.remove(id);
            }
        }
        for (Part part : parts.values()) {
            flush(c, part);
        }
    }

    /** The events of one table between two barriers (a truncate, a schema change), in Log order. */
    private static final class Part {
        final TargetTable table;
        final List<ChangeEvent> events = new ArrayList<>();
        long[] offsets = new long[16];
        final MirrorChanges mirror;

        Part(TargetTable table) {
            this.table = table;
            this.mirror = table.mirror == null ? null : new MirrorChanges(table.schema);
        }

        void add(ChangeEvent e, long offset) throws FerryException {
            if (events.size() == offsets.length) {
                offsets = java.util.Arrays.copyOf(offsets, offsets.length * 2);
            }
            offsets[events.size()] = offset;
            events.add(e);
            if (mirror != null && e.op() != Op.TRUNCATE) {
                mirror.add(e, offset);
            }
        }
    }

    private void flush(Connection c, Part part) throws SQLException, IOException {
        TargetTable t = part.table;
        if (t.history != null && !part.events.isEmpty()) {
            List<Long> lines = new ArrayList<>();
            doing = new TargetErrors.Doing(t.schema.table(), t.history, lines);
            t.appendHistory(c, part.events, part.offsets, lines);
        }
        if (part.mirror != null && !part.mirror.isEmpty()) {
            List<Long> lines = new ArrayList<>();
            doing = new TargetErrors.Doing(t.schema.table(), t.mirror, lines);
            t.applyToMirror(c, part.mirror, lines, transactions);
        }
    }

    /** Creates the schema and Ferry's tables when missing, and the pipeline's offset row; once per connection. */
    private void bootstrap(Connection c) throws SQLException {
        if (bootstrapped) {
            return;
        }
        String schema = Sql.ident(settings.schema());
        try (Statement st = c.createStatement()) {
            // CREATE ... IF NOT EXISTS checks the privilege first: look, so that existing objects need none
            boolean schemaExists;
            try (ResultSet rs = st.executeQuery("SELECT 1 FROM pg_namespace WHERE nspname = " + literal(settings.schema()))) {
                schemaExists = rs.next();
            }
            if (!schemaExists) {
                st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
                LOG.info("created schema {} in {}", settings.schema(), settings.address());
            }
            if (!exists(st, OFFSETS)) {
                st.execute("CREATE TABLE IF NOT EXISTS " + schema + "." + Sql.ident(OFFSETS) + " (pipeline text PRIMARY KEY, "
                        + "\"offset\" bigint NOT NULL, committed_at timestamp with time zone NOT NULL)");
            }
            if (!exists(st, TABLES)) {
                st.execute("CREATE TABLE IF NOT EXISTS " + schema + "." + Sql.ident(TABLES)
                        + " (target_table text PRIMARY KEY, source_table text NOT NULL)");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + schema + "." + Sql.ident(OFFSETS)
                    + " (pipeline, \"offset\", committed_at) VALUES (?, -1, now()) ON CONFLICT (pipeline) DO NOTHING")) {
                ps.setString(1, pipelineName);
                ps.executeUpdate();
            }
        }
        c.commit();
        bootstrapped = true;
    }

    private boolean exists(Statement st, String table) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT to_regclass(" + literal(Sql.qualified(settings.schema(), table))
                + ") IS NOT NULL")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** The pipeline's committed offset, -1 for none; with {@code lock}, the row stays locked until commit. */
    private long readOffset(Connection c, boolean lock) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT \"offset\" FROM " + Sql.qualified(settings.schema(), OFFSETS)
                + " WHERE pipeline = ?" + (lock ? " FOR UPDATE" : ""))) {
            ps.setString(1, pipelineName);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : -1;
            }
        }
    }

    private Connection connection() throws FerryException {
        if (connection == null) {
            connection = open();
            LOG.info("connected to {} as {}, schema {}, history {}", settings.address(), settings.user(),
                    settings.schema(), settings.history() ? "on" : "off");
        }
        return connection;
    }

    /** A connection with the session settings the sink relies on, in a transaction. */
    private Connection open() throws FerryException {
        Properties p = new Properties();
        PGProperty.USER.set(p, settings.user());
        if (settings.password() != null) {
            PGProperty.PASSWORD.set(p, settings.password());
        }
        PGProperty.APPLICATION_NAME.set(p, "ferry-sink");
        PGProperty.CONNECT_TIMEOUT.set(p, 10);
        PGProperty.TCP_KEEP_ALIVE.set(p, true);
        String host = settings.host().contains(":") && !settings.host().startsWith("[") ? "[" + settings.host() + "]"
                : settings.host();
        Connection c = null;
        try {
            c = DriverManager.getConnection("jdbc:postgresql://" + host + ":" + settings.port() + "/"
                    + settings.database(), p);
            try (Statement st = c.createStatement()) {
                st.execute("SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601'");
            }
            c.setAutoCommit(false);
            return c;
        } catch (SQLException e) {
            close(c);
            throw TargetErrors.classify(e, settings, null);
        }
    }

    /** Rolls back and forgets the connection and everything cached for it; returns {@code e}. */
    private FerryException fail(FerryException e) {
        if (connection != null) {
            try {
                connection.rollback();
            } catch (SQLException ignored) {
                // the connection may be gone; closing it below is what matters
            }
        }
        close(connection);
        connection = null;
        bootstrapped = false;
        tables.clear();
        doing = null;
        if (e.kind() == ErrorKind.DATA) {
            LOG.debug("{}", e.getMessage());
        }
        return e;
    }

    private static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing after a failure or at the end; nothing more to do
            }
        }
    }

    private static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }

    @Override
    public void close() {
        close(connection);
        connection = null;
    }
}
