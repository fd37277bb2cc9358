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

    /** The tables in the publication, or empty when it does not exist. */
    Optional<Set<TableId>> publishedTables(Connection regular) throws SQLException {
        try (PreparedStatement ps = regular.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, publication);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
            }
        }
        Set<TableId> present = new HashSet<>();
        try (PreparedStatement ps = regular.prepareStatement(
                "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = ?")) {
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
     * published through their root (PostgreSQL 13+), so snapshot and stream name the same table.
     */
    void ensurePublication(Connection regular, List<TableId> tables, int serverVersionNum) throws SQLException {
        Optional<Set<TableId>> published = publishedTables(regular);
        Set<TableId> present = published.orElse(Set.of());
        List<TableId> missing = tables.stream().filter(t -> !present.contains(t)).toList();
        if (published.isPresent() && missing.isEmpty()) {
            return;
        }
        String list = missing.stream().map(t -> quoteIdent(t.schema()) + "." + quoteIdent(t.name()))
                .collect(Collectors.joining(", "));
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
}
