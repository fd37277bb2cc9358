package dev.ferry.postgres;

import static dev.ferry.postgres.PostgresConnections.quoteIdent;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.TableId;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adds tables to a running pipeline, with their existing rows and without losing or doubling a
 * change: tables created after the start that match {@code tables:}, and tables added to the list.
 *
 * <p>One short transaction on a regular connection (PostgreSQL 14+):
 * <ol>
 *   <li>{@code LOCK TABLE ... IN SHARE MODE} (with a half-second lock timeout, shorter than the
 *       deadlock timeout, so Ferry gives way first): waits until every transaction writing to the
 *       tables has ended, and holds back new writers until the end of this transaction;</li>
 *   <li>{@code ALTER PUBLICATION ... ADD TABLE}: changes committed after this transaction are
 *       published;</li>
 *   <li>{@code pg_logical_emit_message(true, 'ferry:<slot>', 'add-tables <id> <oids>')}: a marker that
 *       reaches the stream at this transaction's commit, in commit order;</li>
 *   <li>{@code pg_export_snapshot()}, imported by a second connection before the commit: it sees
 *       every row written before the lock and none written after. That connection takes ACCESS SHARE
 *       locks before the commit too, so no rewrite or drop can empty the snapshot's tables before
 *       they are read (DDL on them waits for the copy).</li>
 * </ol>
 * When the stream reaches the marker, the source reads the copy there: its rows are the state of the
 * tables at exactly that point, every later change follows in the stream, none earlier is missing.
 * A marker that arrives without its copy (the process restarted in between) is redone: a new marker
 * and copy at the head of the WAL; the changes in between stream as usual, and the new copy's rows
 * (reads, applied by key) bring the tables to their state at the new marker. A redo that cannot
 * take its locks does not go past the marker: the stream reconnects and meets it again. A marker
 * only ever leads to copying tables the pipeline captures and has published: anyone may write
 * logical decoding messages, so a marker is a request to copy again, never to add.
 *
 * <p>Adding needs the right to alter the publication (its owner, who must also own the tables).
 * Without it, Ferry logs the statements an administrator can run instead; a table added that way
 * streams its changes from then on, without its earlier rows.
 */
final class TableAdditions {
    private static final Logger LOG = LoggerFactory.getLogger(TableAdditions.class);
    private static final String KIND = "add-tables";

    /** The content of a marker: its id and the tables' OIDs. */
    record Marker(String id, List<Long> oids) {
        String format() {
            return KIND + " " + id + " " + oids.stream().map(String::valueOf).collect(Collectors.joining(","));
        }

        /** The marker in a message's content, or empty when it is not one (anyone can write messages). */
        static Optional<Marker> parse(byte[] content) {
            String[] parts = new String(content, StandardCharsets.UTF_8).split(" ");
            if (parts.length != 3 || !parts[0].equals(KIND)) {
                return Optional.empty();
            }
            List<Long> oids = new ArrayList<>();
            try {
                for (String oid : parts[2].split(",")) {
                    oids.add(Long.parseLong(oid));
                }
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
            return oids.isEmpty() ? Optional.empty() : Optional.of(new Marker(parts[1], oids));
        }
    }

    private final ConnectionSettings settings;
    private final PostgresConnections connections;
    private final SlotManager slots;
    /** Copies this process prepared, by marker id, waiting for their marker to arrive in the stream. */
    private final Map<String, TableCopy> prepared = new LinkedHashMap<>();
    private final Set<TableId> preparedTables = new HashSet<>();
    /** Tables Ferry may not add (it does not own them or the publication): said once, never locked again. */
    private final Set<TableId> refused = new HashSet<>();
    /** Tables without a replica identity: said once; added once they have one. */
    private final Set<TableId> warnedNoIdentity = new HashSet<>();
    private long nextCheckMillis;

    TableAdditions(ConnectionSettings settings, PostgresConnections connections, SlotManager slots) {
        this.settings = settings;
        this.connections = connections;
        this.slots = slots;
    }

    /** PostgreSQL sends logical decoding messages to pgoutput from version 14 on. */
    static boolean supported(int serverVersionNum) {
        return serverVersionNum >= 140000;
    }

    /** The prefix of this pipeline's markers; other pipelines on the database use their own. */
    String prefix() {
        return "ferry:" + slots.slot();
    }

    /** Whether markers this process wrote have not reached the stream yet. */
    boolean outstanding() {
        return !prepared.isEmpty();
    }

    /**
     * Looks for tables that match {@code tables:} and are not in the publication, at most once per
     * {@code new_tables_check_seconds}, and adds them.
     */
    void discover(Catalog catalog, Connection regular) throws SQLException, FerryException {
        long now = System.currentTimeMillis();
        if (settings.newTablesCheckSeconds() == 0 || now < nextCheckMillis || outstanding()) {
            return; // one addition at a time: each holds a connection and a snapshot until its marker arrives
        }
        nextCheckMillis = now + settings.newTablesCheckSeconds() * 1000L;
        Optional<Set<TableId>> published = slots.publishedTables(regular);
        if (published.isEmpty()) {
            return; // the stream fails on its own, with the reason
        }
        List<Catalog.TableInfo> missing = catalog.allTables().stream()
                .filter(t -> settings.tables().matches(t.id()) && !published.get().contains(t.id())
                        && !refused.contains(t.id()))
                .toList();
        if (!missing.isEmpty()) {
            add(missing, false);
        }
    }

    /**
     * Adds the tables to the publication and prepares the copy of their rows (see the class
     * comment). Tables without a replica identity are left out: publishing them would make their
     * updates and deletes fail on the source; so are tables Ferry may not alter the publication for.
     * A table a writer holds for longer than the lock timeout is tried again at the next check; a
     * redo ({@code again}) cannot wait for that and fails instead, as CONNECTIVITY, to meet its
     * marker again after a reconnect.
     */
    void add(List<Catalog.TableInfo> tables, boolean again) throws SQLException, FerryException {
        List<Catalog.TableInfo> addable = new ArrayList<>();
        for (Catalog.TableInfo t : tables) {
            if (!t.publishable()) {
                if (warnedNoIdentity.add(t.id())) {
                    LOG.warn("Table {} matches source.tables but has no primary key and no replica identity (or a "
                            + "partition lacks one): publishing it would make its UPDATEs and DELETEs fail on the "
                            + "source, so Ferry does not add it. Add a primary key or run ALTER TABLE {} REPLICA "
                            + "IDENTITY FULL; Ferry adds it at its next check.", t.id(), qualified(t.id()));
                }
            } else {
                addable.add(t);
            }
        }
        if (addable.isEmpty()) {
            return;
        }
        Connection admin = connections.regular();
        try {
            String denied = ownershipProblem(admin, addable);
            if (denied != null) {
                refuse(addable, denied, again);
                return;
            }
            if (!prepare(admin, addable, again) && addable.size() > 1 && !again) {
                // one busy table must not hold the others back
                for (Catalog.TableInfo t : addable) {
                    prepare(admin, List.of(t), false);
                }
            }
        } finally {
            PostgresConnections.close(admin);
        }
    }

    /** The transaction of the class comment; false when a lock could not be had in time. */
    private boolean prepare(Connection admin, List<Catalog.TableInfo> addable, boolean again)
            throws SQLException, FerryException {
        String list = addable.stream().map(Catalog.TableInfo::sqlName).collect(Collectors.joining(", "));
        List<TableId> ids = addable.stream().map(Catalog.TableInfo::id).toList();
        Connection copyConnection = null;
        try {
            admin.setAutoCommit(false);
            admin.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement s = admin.createStatement()) {
                s.execute("SET LOCAL lock_timeout = '500ms'");
                s.execute("LOCK TABLE " + list + " IN SHARE MODE");
                // the transaction's snapshot is taken here, after the lock: it sees every earlier write
                Set<TableId> published = slots.publishedTables(admin).orElse(Set.of());
                String toPublish = addable.stream().filter(t -> !published.contains(t.id()))
                        .map(Catalog.TableInfo::sqlName).collect(Collectors.joining(", "));
                if (!toPublish.isEmpty()) {
                    s.execute("ALTER PUBLICATION " + quoteIdent(slots.publication()) + " ADD TABLE " + toPublish);
                }
            }
            Marker marker = new Marker(UUID.randomUUID().toString(), addable.stream().map(Catalog.TableInfo::oid).toList());
            try (PreparedStatement ps = admin.prepareStatement("SELECT pg_logical_emit_message(true, ?, ?)")) {
                ps.setString(1, prefix());
                ps.setString(2, marker.format());
                ps.execute();
            }
            String snapshotName;
            try (Statement s = admin.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_export_snapshot()")) {
                rs.next();
                snapshotName = rs.getString(1);
            }
            copyConnection = connections.regular();
            TableCopy copy = new TableCopy(copyConnection, snapshotName, ids);
            copy.begin();
            copy.lockTables();
            admin.commit();
            prepared.put(marker.id(), copy);
            preparedTables.addAll(ids);
            LOG.info("Added {} to publication {}; their rows are copied where the stream reaches that point",
                    ids, slots.publication());
            return true;
        } catch (SQLException e) {
            rollback(admin);
            PostgresConnections.close(copyConnection);
            String state = String.valueOf(e.getSQLState());
            if (state.equals("55P03") || state.equals("40P01")) {
                if (again) {
                    throw new FerryException(ErrorKind.CONNECTIVITY, "Tables " + ids + " are busy with a long "
                            + "write transaction; their copy is tried again after a reconnect.", e);
                }
                LOG.info("Tables {} are busy with a long write transaction; trying to add them again in {} s",
                        ids, settings.newTablesCheckSeconds());
                return false;
            }
            if (state.equals("42501") || String.valueOf(e.getMessage()).contains("must be owner")) {
                refuse(addable, e.getMessage(), again);
                return true;
            }
            throw e;
        } finally {
            admin.setAutoCommit(true);
        }
    }

    /**
     * Why the user cannot add the tables (it must own the publication and each table), or null.
     * Checked before any lock is taken, so that a table Ferry cannot add is never locked.
     */
    private String ownershipProblem(Connection admin, List<Catalog.TableInfo> tables) throws SQLException {
        List<TableId> notOwned = new ArrayList<>();
        try (PreparedStatement ps = admin.prepareStatement(
                "SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = ?")) {
            for (Catalog.TableInfo t : tables) {
                ps.setLong(1, t.oid());
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next() || !rs.getBoolean(1)) {
                        notOwned.add(t.id());
                    }
                }
            }
        }
        if (!notOwned.isEmpty()) {
            return settings.user() + " does not own " + notOwned;
        }
        try (PreparedStatement ps = admin.prepareStatement(
                "SELECT pg_has_role(pubowner, 'USAGE') FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, slots.publication());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && !rs.getBoolean(1)) {
                    return settings.user() + " does not own publication " + slots.publication();
                }
            }
        }
        return null;
    }

    private void refuse(List<Catalog.TableInfo> tables, String why, boolean again) throws FerryException {
        String list = tables.stream().map(Catalog.TableInfo::sqlName).collect(Collectors.joining(", "));
        if (again) {
            throw new FerryException(ErrorKind.PREREQUISITE, "Cannot copy " + tables.stream().map(Catalog.TableInfo::id)
                    .toList() + " again after a restart (" + why + "). Give " + settings.user() + " ownership of "
                    + "them again, or start the pipeline over.");
        }
        if (tables.stream().anyMatch(t -> refused.add(t.id()))) {
            LOG.warn("Cannot add {} to publication {} ({}). Ask the tables' owner to run: ALTER PUBLICATION {} ADD "
                    + "TABLE {}; - their changes then stream from that point on, without the rows written before it.",
                    tables.stream().map(Catalog.TableInfo::id).toList(), slots.publication(), why,
                    quoteIdent(slots.publication()), list);
        }
    }

    /**
     * The copy to read where a marker of this pipeline arrived, or empty when this process did not
     * prepare it (a restart in between): then the addition is redone, with a new marker and copy.
     */
    Optional<TableCopy> arrived(Marker marker, Catalog catalog) throws SQLException, FerryException {
        TableCopy copy = prepared.remove(marker.id());
        if (copy != null) {
            preparedTables.removeAll(copy.tables());
            return Optional.of(copy);
        }
        // only tables this pipeline captures and has published: a marker never adds a table
        Set<TableId> published = slots.publishedTables(catalog.connection()).orElse(Set.of());
        List<Catalog.TableInfo> still = catalog.allTables().stream().filter(t -> marker.oids().contains(t.oid()))
                .filter(t -> settings.tables().matches(t.id()) && published.contains(t.id())
                        && !preparedTables.contains(t.id()))
                .toList();
        if (!still.isEmpty()) {
            LOG.info("Copying {} again: the copy of an earlier run was not finished", still.stream()
                    .map(Catalog.TableInfo::id).toList());
            add(still, true);
        }
        return Optional.empty();
    }

    /** Ends the prepared copies; their markers find no copy when they arrive and are redone. */
    void close() {
        prepared.values().forEach(TableCopy::close);
        prepared.clear();
        preparedTables.clear();
        nextCheckMillis = 0;
    }

    private static void rollback(Connection c) {
        try {
            c.rollback();
        } catch (SQLException e) {
            LOG.debug("rollback failed", e);
        }
    }

    private static String qualified(TableId t) {
        return quoteIdent(t.schema()) + "." + quoteIdent(t.name());
    }
}
