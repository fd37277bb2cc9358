package dev.ferry.postgres;

import static dev.ferry.postgres.PostgresConnections.quoteIdent;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.source.Check;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** What {@code ferry check} verifies on a PostgreSQL source, each with the exact fix. */
final class Prerequisites {
    private final ConnectionSettings settings;
    private final PostgresConnections connections;
    private final SlotManager slots;

    Prerequisites(ConnectionSettings settings, PostgresConnections connections, SlotManager slots) {
        this.settings = settings;
        this.connections = connections;
        this.slots = slots;
    }

    /** Fails start-up with a PREREQUISITE error when the server cannot do logical decoding. */
    static void requireLogicalWal(Catalog catalog, ConnectionSettings settings) throws SQLException, FerryException {
        String level = catalog.setting("wal_level");
        if (!level.equals("logical")) {
            throw new FerryException(ErrorKind.PREREQUISITE, walLevelMessage(settings, level));
        }
    }

    private static String walLevelMessage(ConnectionSettings settings, String level) {
        return "PostgreSQL at " + settings.address() + " has wal_level=" + level + "; change data capture needs "
                + "logical. Run ALTER SYSTEM SET wal_level = logical; and restart the server.";
    }

    /**
     * A SQL_ASCII database stores text bytes unchecked, but sends text to Ferry as UTF-8 (the
     * connections' client_encoding): PostgreSQL refuses a value that is not valid UTF-8 (SQLSTATE
     * 22021), in a snapshot's read and in logical decoding alike, and such a value stops its table's
     * snapshot and the stream at its change. Bytes of another encoding that happen to be valid UTF-8
     * (Latin-1's "Ã©") come through as the UTF-8 they spell ("é"): no check can tell them apart.
     */
    private static Check sqlAsciiWarning(ConnectionSettings settings) {
        return Check.warning("database encoding", settings.database() + " is SQL_ASCII: PostgreSQL does not check "
                + "its text, and refuses to send Ferry any that is not valid UTF-8 (invalid byte sequence for encoding "
                + "\"UTF8\"): such a value stops its table's snapshot, and the stream at its change",
                "Write only UTF-8 text to it, or move it to a UTF8 database: convert the values that are not UTF-8 "
                        + "(or, if all are in one encoding, restore with that client_encoding), pg_dump, then restore "
                        + "into a database created WITH ENCODING 'UTF8' TEMPLATE template0.");
    }

    /** Every prerequisite; a server that cannot be reached or refuses the login is an error, not a check. */
    List<Check> check() throws FerryException {
        List<Check> out = new ArrayList<>();
        try (Connection c = connections.regular()) {
            Catalog catalog = new Catalog(c);
            out.add(Check.ok("connection", "connected to " + settings.address() + " as " + settings.user()));
            int version = Integer.parseInt(catalog.setting("server_version_num"));
            out.add(version >= 100000 ? Check.ok("server version", catalog.setting("server_version"))
                    : Check.problem("server version", catalog.setting("server_version"),
                    "Ferry needs PostgreSQL 10 or newer (pgoutput)."));
            String level = catalog.setting("wal_level");
            out.add(level.equals("logical") ? Check.ok("wal_level", "logical")
                    : Check.problem("wal_level", level, walLevelMessage(settings, level)));
            if (catalog.setting("server_encoding").equals("SQL_ASCII")) {
                out.add(sqlAsciiWarning(settings));
            }
            out.add(roleCheck(c));
            out.add(slotCapacity(catalog, c));
            List<Catalog.TableInfo> tables;
            try {
                tables = catalog.tables(settings.tables(), settings.tablesWhere(), true);
            } catch (FerryException e) {
                out.add(Check.problem("tables", e.getMessage(), "Fix source.tables in the pipeline file."));
                return out;
            }
            if (tables.isEmpty()) {
                out.add(Check.warning("tables", "the database has no tables yet", "Create tables, or name them in source.tables."));
            }
            for (Catalog.TableInfo t : tables) {
                out.add(tableCheck(c, t));
            }
            out.add(publicationCheck(c));
            out.add(slotCheck(c));
        } catch (SQLException e) {
            out.add(Check.problem("catalog", e.getMessage(), "Check that user " + settings.user()
                    + " may read the system catalogs."));
        }
        try (Connection r = connections.replication()) {
            out.add(Check.ok("replication connection", "accepted"));
        } catch (FerryException | SQLException e) {
            out.add(Check.problem("replication connection", e.getMessage(), ""));
        }
        return out;
    }

    private Check roleCheck(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT rolreplication, rolsuper FROM pg_roles WHERE rolname = current_user");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            if (rs.getBoolean(1) || rs.getBoolean(2)) {
                return Check.ok("replication privilege", settings.user() + " has REPLICATION");
            }
            return Check.problem("replication privilege", settings.user() + " lacks the REPLICATION attribute",
                    "Run ALTER ROLE " + quoteIdent(settings.user()) + " WITH REPLICATION; as a superuser.");
        }
    }

    private Check slotCapacity(Catalog catalog, Connection c) throws SQLException {
        int max = Integer.parseInt(catalog.setting("max_replication_slots"));
        int used;
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_replication_slots WHERE slot_name <> ?")) {
            ps.setString(1, slots.slot());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                used = rs.getInt(1);
            }
        }
        if (used < max) {
            return Check.ok("max_replication_slots", used + " of " + max + " in use by others");
        }
        return Check.problem("max_replication_slots", "all " + max + " slots are in use",
                "Drop an unused slot, or raise it: ALTER SYSTEM SET max_replication_slots = " + (max + 4)
                        + "; and restart the server.");
    }

    private Check tableCheck(Connection c, Catalog.TableInfo t) throws SQLException {
        String subject = "table " + t.id();
        String qualified = quoteIdent(t.id().schema()) + "." + quoteIdent(t.id().name());
        try (PreparedStatement ps = c.prepareStatement("SELECT has_table_privilege(?::oid, 'SELECT')")) {
            ps.setLong(1, t.oid());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    return Check.problem(subject, settings.user() + " may not read it (needed for the snapshot)",
                            "Run GRANT SELECT ON " + qualified + " TO " + quoteIdent(settings.user()) + ";");
                }
            }
        }
        Check identity = identityCheck(c, t, subject, qualified);
        if (identity.status() == Check.Status.OK && !t.publishable()) {
            identity = Check.problem(subject, "has no usable replica identity (its identity index was dropped, or a "
                    + "partition has no primary key and no identity): PostgreSQL would refuse its UPDATEs and DELETEs "
                    + "once it is published; Ferry will not publish it", "Give each partition a primary key (declared "
                    + "on the partitioned table), or run ALTER TABLE ... REPLICA IDENTITY FULL on each partition.");
        }
        if (identity.status() == Check.Status.PROBLEM && !settings.tables().names().contains(t.id())) {
            // matched by "every table" or a pattern: the run leaves it out rather than stop
            return Check.warning(subject, identity.detail() + "; it is not captured until then", identity.fix());
        }
        return identity;
    }

    /**
     * What the table's replica identity means for the events: which old values {@code before} holds,
     * and whether PostgreSQL can publish its updates and deletes at all.
     */
    private static Check identityCheck(Connection c, Catalog.TableInfo t, String subject, String qualified)
            throws SQLException {
        switch (t.replicaIdentity()) {
            case 'f':
                return Check.ok(subject, "replica identity FULL: updates and deletes carry the whole old row in "
                        + "before (at the cost of more WAL per change)" + (t.hasPrimaryKey() ? ""
                        : "; without a primary key, events have no key columns, so a mirror matches rows by all "
                        + "their values"));
            case 'i':
                return Check.ok(subject, "replica identity USING INDEX " + identityIndex(c, t.oid()) + ": events "
                        + "are keyed by that index's columns, and before holds only them (the old values of the "
                        + "other columns are null); ALTER TABLE " + qualified + " REPLICA IDENTITY FULL gives whole "
                        + "old rows");
            case 'n':
                return Check.problem(subject, "replica identity NOTHING: PostgreSQL publishes no old values, so "
                        + "once the table is in a publication its UPDATEs and DELETEs fail on the source ('cannot "
                        + "update table because it does not have a replica identity'); Ferry will not publish it",
                        "Run ALTER TABLE " + qualified + " REPLICA IDENTITY " + (t.hasPrimaryKey() ? "DEFAULT" : "FULL")
                                + "; or leave the table out of source.tables.");
            default:
                if (t.hasPrimaryKey()) {
                    return Check.ok(subject, "has a primary key (replica identity DEFAULT): updates and deletes "
                            + "carry the key in before, the other old values are null; ALTER TABLE " + qualified
                            + " REPLICA IDENTITY FULL gives whole old rows");
                }
                return Check.problem(subject, "has no primary key and no replica identity, so PostgreSQL cannot "
                        + "publish its updates and deletes (they fail on the source once the table is in a "
                        + "publication); Ferry will not publish it",
                        "Add a primary key, or run ALTER TABLE " + qualified + " REPLICA IDENTITY FULL; or leave "
                                + "the table out of source.tables.");
        }
    }

    private static String identityIndex(Connection c, long tableOid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = ? AND indisreplident")) {
            ps.setLong(1, tableOid);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : "(index missing)";
            }
        }
    }

    private Check publicationCheck(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, slots.publication());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    return Check.ok("publication", slots.publication() + " exists");
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT has_database_privilege(current_database(), 'CREATE')"); ResultSet rs = ps.executeQuery()) {
            rs.next();
            if (!rs.getBoolean(1)) {
                return Check.problem("publication", slots.publication() + " does not exist and " + settings.user()
                        + " may not create it", "Create it as the tables' owner: CREATE PUBLICATION "
                        + quoteIdent(slots.publication()) + " FOR TABLE ...; or GRANT CREATE ON DATABASE "
                        + quoteIdent(settings.database()) + " TO " + quoteIdent(settings.user()) + ";");
            }
        }
        return Check.ok("publication", slots.publication() + " will be created on the first run");
    }

    private Check slotCheck(Connection c) throws SQLException {
        Optional<SlotManager.SlotState> slot = slots.find(c);
        if (slot.isEmpty()) {
            return Check.ok("replication slot", slots.slot() + " will be created on the first run");
        }
        SlotManager.SlotState s = slot.get();
        if (!"pgoutput".equals(s.plugin())) {
            return Check.problem("replication slot", slots.slot() + " exists with plugin " + s.plugin(),
                    "Drop it (SELECT pg_drop_replication_slot('" + slots.slot() + "');) or set source.slot to another name.");
        }
        if (s.lost()) {
            return Check.problem("replication slot", slots.slot() + " was invalidated by the server (wal_status lost: "
                    + "it fell behind max_slot_wal_keep_size); the changes since its last position are gone",
                    "Re-snapshot: SELECT pg_drop_replication_slot('" + slots.slot() + "'); delete the state folder and "
                            + "the sink output, and run again.");
        }
        if (s.active()) {
            return Check.warning("replication slot", slots.slot() + " is in use by pid " + s.activePid(),
                    "Only one Ferry may run this pipeline at a time.");
        }
        return Check.ok("replication slot", slots.slot() + " exists, confirmed up to "
                + (s.confirmedFlushLsn() == null ? "-" : PgPosition.formatLsn(s.confirmedFlushLsn())));
    }
}
