package dev.ferry.postgres;

import static dev.ferry.postgres.PostgresConnections.quoteIdent;

import dev.ferry.event.TableId;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/** Creates, inspects and drops the replication slot and the publication of one pipeline. */
final class SlotManager {
    /** What pg_replication_slots says about the slot. */
    record SlotState(String plugin, String database, boolean active, Integer activePid, Long confirmedFlushLsn,
                     String walStatus) {
        /** Whether the server invalidated the slot (it fell behind max_slot_wal_keep_size). */
        boolean lost() {
            return "lost".equals(walStatus);
        }
    }

    /** The answer of CREATE_REPLICATION_SLOT. */
    record CreatedSlot(long consistentPoint, String snapshotName) {
    }

    private final String slot;
    private final String publication;

    SlotManager(String slot, String publication) {
        this.slot = slot;
        this.publication = publication;
    }

    String slot() {
        return slot;
    }

    String publication() {
        return publication;
    }

    Optional<SlotState> find(Connection regular) throws SQLException {
        // wal_status exists from PostgreSQL 13 on; read through jsonb so older servers answer too
        String sql = "SELECT plugin, database, active, active_pid, confirmed_flush_lsn::text, "
                + "to_jsonb(s) ->> 'wal_status' FROM pg_replication_slots s WHERE slot_name = ?";
        try (PreparedStatement ps = regular.prepareStatement(sql)) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                String lsn = rs.getString(5);
                Integer pid = rs.getObject(4) == null ? null : rs.getInt(4);
                return Optional.of(new SlotState(rs.getString(1), rs.getString(2), rs.getBoolean(3), pid,
                        lsn == null ? null : PgPosition.parseLsn(lsn), rs.getString(6)));
            }
        }
    }

    void drop(Connection regular) throws SQLException {
        try (PreparedStatement ps = regular.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
            ps.setString(1, slot);
            ps.execute();
        }
    }

    /** The role that owns the publication, or empty when it does not exist. */
    Optional<String> publicationOwner(Connection regular) throws SQLException {
        try (PreparedStatement ps = regular.prepareStatement(
                "SELECT pg_get_userbyid(pubowner) FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, publication);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        }
    }

    void dropPublication(Connection regular) throws SQLException {
        try (Statement s = regular.createStatement()) {
            s.execute("DROP PUBLICATION IF EXISTS " + quoteIdent(publication));
        }
    }

    /**
     * Creates the slot on a replication connection. With {@code exportSnapshot}, the returned snapshot
     * stays importable (SET TRANSACTION SNAPSHOT) until that connection runs its next command.
     */
    CreatedSlot create(Connection replication, boolean exportSnapshot) throws SQLException {
        String sql = "CREATE_REPLICATION_SLOT " + quoteIdent(slot) + " LOGICAL pgoutput "
                + (exportSnapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
        try (Statement s = replication.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return new CreatedSlot(PgPosition.parseLsn(rs.getString("consistent_point")), rs.getString("snapshot_name"));
        }
    }

    /**
     * The tables in the publication, or empty when it does not exist. A partition published on its
     * own (a publication without publish_via_partition_root) counts for its root table; a publication
     * FOR ALL TABLES holds every table.
     */
    Optional<Set<TableId>> publishedTables(Connection regular) throws SQLException {
        boolean allTables;
        try (PreparedStatement ps = regular.prepareStatement("SELECT puballtables FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, publication);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                allTables = rs.getBoolean(1);
            }
        }
        Set<TableId> present = new HashSet<>();
        if (allTables) {
            new Catalog(regular).allTables().forEach(t -> present.add(t.id()));
            return Optional.of(present);
        }
        // pg_partition_root exists from PostgreSQL 12
        String root = regular.getMetaData().getDatabaseMajorVersion() >= 12 ? "COALESCE(pg_partition_root(pc.oid), pc.oid)"
                : "pc.oid";
        try (PreparedStatement ps = regular.prepareStatement("SELECT n.nspname, c.relname FROM pg_publication_tables p "
                + "JOIN pg_namespace pn ON pn.nspname = p.schemaname "
                + "JOIN pg_class pc ON pc.relnamespace = pn.oid AND pc.relname = p.tablename "
                + "JOIN pg_class c ON c.oid = " + root + " JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE p.pubname = ?")) {
            ps.setString(1, publication);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    present.add(new TableId(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return Optional.of(present);
    }

    /**
     * Creates the publication for the tables, or adds the tables it lacks. Partitioned tables are
     * published through their root (PostgreSQL 13+), so snapshot and stream name the same table;
     * ordinary tables with {@code ONLY}, so that inheritance children stay out.
     */
    void ensurePublication(Connection regular, List<Catalog.TableInfo> tables, int serverVersionNum) throws SQLException {
        Optional<Set<TableId>> published = publishedTables(regular);
        Set<TableId> present = published.orElse(Set.of());
        List<Catalog.TableInfo> missing = tables.stream().filter(t -> !present.contains(t.id())).toList();
        if (published.isPresent() && missing.isEmpty()) {
            return;
        }
        String list = missing.stream().map(Catalog.TableInfo::sqlName).collect(Collectors.joining(", "));
        try (Statement s = regular.createStatement()) {
            if (published.isEmpty()) {
                s.execute("CREATE PUBLICATION " + quoteIdent(publication)
                        + (missing.isEmpty() ? "" : " FOR TABLE " + list)
                        + (serverVersionNum >= 130000 ? " WITH (publish_via_partition_root = true)" : ""));
            } else {
                s.execute("ALTER PUBLICATION " + quoteIdent(publication) + " ADD TABLE " + list);
            }
        }
    }

    /** The slot's state for {@code ferry status}: activity, confirmed and restart LSN, WAL it retains. */
    java.util.Map<String, String> describe(Connection regular) throws SQLException {
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        Optional<SlotState> slot = find(regular);
        if (slot.isEmpty()) {
            out.put("slot " + this.slot, "does not exist (created on the first run)");
            return out;
        }
        String sql = "SELECT confirmed_flush_lsn::text, restart_lsn::text, "
                + "pg_wal_lsn_diff(pg_current_wal_insert_lsn(), restart_lsn)::bigint, "
                + "pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::bigint "
                + "FROM pg_replication_slots WHERE slot_name = ?";
        try (PreparedStatement ps = regular.prepareStatement(sql)) {
            ps.setString(1, this.slot);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    out.put("slot " + this.slot, slot.get().active() ? "active (pid " + slot.get().activePid() + ")"
                            : "inactive");
                    out.put("confirmed flush LSN", rs.getString(1));
                    out.put("restart LSN", rs.getString(2));
                    out.put("WAL retained by the slot", String.format("%,d bytes", rs.getLong(3)));
                    out.put("WAL not yet confirmed", String.format("%,d bytes", rs.getLong(4)));
                }
            }
        }
        return out;
    }

    /**
     * What {@code ferry drop} removes: the slot, refused while a connection holds it, and the
     * publication when the connected role owns it (one that belongs to another role was created by
     * an administrator for Ferry, and stays). Dropped too when {@code drop} is true.
     */
    java.util.List<String> dropTargets(Connection regular, ConnectionSettings settings, boolean drop)
            throws SQLException, dev.ferry.error.FerryException {
        java.util.List<String> targets = new java.util.ArrayList<>();
        Optional<SlotState> state = find(regular);
        if (state.isPresent() && state.get().active()) {
            throw new dev.ferry.error.FerryException(dev.ferry.error.ErrorKind.PREREQUISITE, "Replication slot " + slot
                    + " on " + settings.address() + " is in use (pid " + state.get().activePid() + "): a Ferry runs this "
                    + "pipeline, perhaps on another machine. Stop it, then run ferry drop again (a Ferry that was "
                    + "just killed holds the slot until the server notices, within wal_sender_timeout). Nothing "
                    + "was dropped.");
        }
        if (state.isPresent()) {
            if (drop) {
                drop(regular);
            }
            targets.add("replication slot " + slot + " on " + settings.address());
        }
        Optional<String> owner = publicationOwner(regular);
        if (owner.isPresent() && owner.get().equals(settings.user())) {
            if (drop) {
                dropPublication(regular);
            }
            targets.add("publication " + publication + " on " + settings.address());
        } else if (owner.isPresent() && !drop) {
            org.slf4j.LoggerFactory.getLogger(SlotManager.class).info("Publication {} belongs to role {}, not {}: "
                    + "Ferry did not create it, so it stays.", publication, owner.get(), settings.user());
        }
        return targets;
    }
}
