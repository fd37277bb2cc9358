package dev.ferry.postgres;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.Column;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.source.TableFilter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Catalog queries on a regular connection: which tables exist, their columns and keys. */
final class Catalog {
    private static final Logger LOG = LoggerFactory.getLogger(Catalog.class);
    /**
     * A table to capture. {@code kind}: r ordinary, p partitioned. {@code replicaIdentity}: d default,
     * f full, i index, n nothing. {@code publishable}: whether PostgreSQL can publish its updates and
     * deletes (an identity: a primary key, FULL, or an index that still exists; for a partitioned
     * table, every partition's); without, they fail on the source once the table is published.
     */
    record TableInfo(TableId id, long oid, char kind, char replicaIdentity, boolean hasPrimaryKey,
                     boolean publishable) {
        /** The name for SQL; {@code ONLY} for an ordinary table, so that inheritance children stay out. */
        String sqlName() {
            String name = PostgresConnections.quoteIdent(id.schema()) + "." + PostgresConnections.quoteIdent(id.name());
            return kind == 'r' ? "ONLY " + name : name;
        }
    }

    /** Whether a table (alias {@code x}) has an identity PostgreSQL can publish updates and deletes with. */
    private static final String HAS_IDENTITY = "(x.relreplident = 'f' "
            + "OR (x.relreplident = 'i' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = x.oid AND i.indisreplident)) "
            + "OR (x.relreplident = 'd' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = x.oid AND i.indisprimary)))";

    private final Connection connection;
    private final java.util.Map<Integer, PgTypes.UserType> types = new java.util.HashMap<>();

    Catalog(Connection connection) {
        this.connection = connection;
    }

    /** The regular connection the catalog reads through. */
    Connection connection() {
        return connection;
    }

    /**
     * The ordinary and partitioned tables (not partitions) the filter captures. A table named one by
     * one that does not exist is a configuration error when {@code namedMustExist}; otherwise (a
     * pipeline resuming after the table was dropped) it is left out with a warning.
     */
    List<TableInfo> tables(TableFilter filter, String configWhere, boolean namedMustExist)
            throws SQLException, FerryException {
        List<TableInfo> all = allTables();
        for (TableId wanted : filter.names()) {
            if (all.stream().noneMatch(t -> t.id().equals(wanted))) {
                if (isUnlogged(wanted)) {
                    throw new FerryException(ErrorKind.PREREQUISITE, configWhere + " names table " + wanted
                            + ", which is UNLOGGED: PostgreSQL writes none of its changes to the WAL, so they cannot "
                            + "be captured. Run ALTER TABLE " + PostgresConnections.quoteIdent(wanted.schema()) + "."
                            + PostgresConnections.quoteIdent(wanted.name()) + " SET LOGGED; or remove it from the list.");
                }
                String text = configWhere + " names table " + wanted + ", which does not exist in the database";
                if (namedMustExist) {
                    throw new FerryException(ErrorKind.CONFIG, text + " (names are case-sensitive; write them as "
                            + "in the catalog, e.g. public.orders).");
                }
                LOG.warn("{}: dropped, or misspelled? Capturing the other tables; remove it from the list to "
                        + "silence this warning.", text);
            }
        }
        return all.stream().filter(t -> filter.matches(t.id())).toList();
    }

    private boolean isUnlogged(TableId table) throws SQLException {
        return Boolean.TRUE.equals(classValue(table, "c.relpersistence = 'u'"));
    }

    /** Every permanent ordinary and partitioned table (not partitions, not system tables), by schema and name. */
    List<TableInfo> allTables() throws SQLException {
        List<TableInfo> all = new ArrayList<>();
        // a partitioned table is publishable when each of its partitions is (pg_partition_tree: 12+)
        String partitions = connection.getMetaData().getDatabaseMajorVersion() >= 12
                ? "COALESCE((SELECT bool_and(" + HAS_IDENTITY.replace("x.", "l.") + ") FROM pg_partition_tree(c.oid) t "
                + "JOIN pg_class l ON l.oid = t.relid WHERE t.isleaf), true)" : "true";
        String sql = "SELECT n.nspname, c.relname, c.oid, c.relkind, c.relreplident, "
                + "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), "
                + "CASE WHEN c.relkind = 'p' THEN " + partitions + " ELSE " + HAS_IDENTITY.replace("x.", "c.") + " END "
                + "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                // permanent tables only: unlogged and temporary ones cannot be published
                + "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence = 'p' "
                + "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' "
                + "ORDER BY 1, 2";
        try (PreparedStatement ps = connection.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                all.add(new TableInfo(new TableId(rs.getString(1), rs.getString(2)), rs.getLong(3),
                        rs.getString(4).charAt(0), rs.getString(5).charAt(0), rs.getBoolean(6), rs.getBoolean(7)));
            }
        }
        return all;
    }

    /**
     * The table's current columns; key columns are the replica identity index's (REPLICA IDENTITY
     * USING INDEX), else the primary key's. Generated columns are left
     * out: pgoutput does not publish them (before PostgreSQL 18, and by default since), so the
     * snapshot must not carry them either, or snapshot and stream events of one table differ.
     */
    TableSchema schema(TableId table) throws SQLException {
        // attgenerated exists from PostgreSQL 12, the first version with generated columns
        String notGenerated = connection.getMetaData().getDatabaseMajorVersion() >= 12 ? "AND a.attgenerated = '' " : "";
        // key columns only, not an index's INCLUDE columns (indnkeyatts: PostgreSQL 11+)
        String keyAtts = connection.getMetaData().getDatabaseMajorVersion() >= 11 ? "i.indnkeyatts" : "i.indnatts";
        String sql = "SELECT a.attname, a.atttypid, a.atttypmod, format_type(a.atttypid, a.atttypmod), "
                + "COALESCE(a.attnum = ANY (ARRAY(SELECT u.attnum FROM unnest(i.indkey) WITH ORDINALITY AS u(attnum, ord) "
                + "WHERE u.ord <= " + keyAtts + ")), false) "
                + "FROM pg_attribute a "
                + "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                // the key: the replica identity index when there is one (as pgoutput marks it), else the primary key
                + "LEFT JOIN pg_index i ON i.indrelid = c.oid "
                + "AND CASE WHEN c.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END "
                + "WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped " + notGenerated
                + "ORDER BY a.attnum";
        List<Column> columns = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.add(PgTypes.column(rs.getString(1), (int) rs.getLong(2), rs.getInt(3), rs.getBoolean(5),
                            this::describeType));
                }
            }
        }
        return new TableSchema(table, columns);
    }

    /**
     * The table's key columns (the replica identity index's, else the primary key's) in the index's
     * order, the order a keyset scan must follow to walk the index; empty without a key.
     */
    List<String> keyInIndexOrder(TableId table) throws SQLException {
        List<String> out = new ArrayList<>();
        String sql = "SELECT a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "JOIN pg_index i ON i.indrelid = c.oid "
                + "AND CASE WHEN c.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END "
                + "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
                + "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
                // key columns only, not INCLUDE ones (chunked snapshots need PostgreSQL 14+, which has indnkeyatts)
                + "WHERE n.nspname = ? AND c.relname = ? AND k.ord <= i.indnkeyatts ORDER BY k.ord";
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    /** Whether a relation of that name exists. */
    boolean exists(TableId table) throws SQLException {
        return classValue(table, "true") != null;
    }

    /** Whether the table is partitioned: it holds no rows itself, its partitions do. */
    boolean isPartitioned(TableId table) throws SQLException {
        return Boolean.TRUE.equals(classValue(table, "c.relkind = 'p'"));
    }

    /**
     * The planner's estimate of the table's rows (pg_class.reltuples); -1 when unknown: never
     * analyzed, a partitioned table (its partitions hold the rows), or no such table.
     */
    long estimatedRows(TableId table) throws SQLException {
        Object rows = classValue(table, "CASE WHEN c.relkind = 'p' THEN -1 ELSE c.reltuples::bigint END");
        return rows == null ? -1 : ((Number) rows).longValue();
    }

    /** One SQL expression over the table's pg_class row (alias {@code c}); null when there is no such table. */
    private Object classValue(TableId table, String expression) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT " + expression + " FROM pg_class c "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getObject(1) : null;
            }
        }
    }

    /** The primary key column names of a table, by its OID; empty without a primary key. */
    Set<String> primaryKey(long relationOid) throws SQLException {
        Set<String> out = new HashSet<>();
        String sql = "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                + "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = ? AND i.indisprimary";
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            ps.setLong(1, relationOid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    /** A non-built-in type from pg_type, cached for the connection's life; null when unknown. */
    PgTypes.UserType describeType(int oid) throws SQLException {
        if (types.containsKey(oid)) {
            return types.get(oid);
        }
        PgTypes.UserType t = null;
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT format_type(oid, NULL), typtype, typcategory, typelem, typbasetype FROM pg_type WHERE oid = ?")) {
            ps.setLong(1, Integer.toUnsignedLong(oid));
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    t = new PgTypes.UserType(rs.getString(1), rs.getString(2).charAt(0), rs.getString(3).charAt(0),
                            (int) rs.getLong(4), (int) rs.getLong(5));
                }
            }
        }
        types.put(oid, t);
        return t;
    }

    String setting(String name) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT current_setting(?)")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    /**
     * The end of the WAL inserted so far. Not pg_current_wal_lsn(), which is only what has been
     * written out: with asynchronous commit a committed transaction can lie beyond it.
     */
    long currentWalLsn() throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_current_wal_insert_lsn()::text");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return PgPosition.parseLsn(rs.getString(1));
        }
    }
}
