package dev.ferry.mysql;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.TableId;
import dev.ferry.source.Check;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code ferry check} verifies on MySQL and MariaDB, each with its fix, and the subset a run
 * refuses to start without. Connects; changes nothing.
 */
final class Prerequisites {
    private final MySqlSettings settings;

    Prerequisites(MySqlSettings settings) {
        this.settings = settings;
    }

    List<Check> check(Connection c, Catalog catalog) throws SQLException {
        List<Check> out = new ArrayList<>();
        String version = value(c, "SELECT VERSION()");
        out.add(Check.ok("server", (mariaDb(version) ? "MariaDB " : "MySQL ") + version + " at " + settings.address()));
        out.add(logBin(c));
        out.add(setting(c, "binlog_format", "ROW", "Ferry reads row changes; STATEMENT and MIXED binlogs carry SQL text"));
        out.add(setting(c, "binlog_row_image", "FULL", "Ferry needs every column of the old and new row"));
        String metadata = variable(c, "binlog_row_metadata");
        if ("FULL".equalsIgnoreCase(metadata)) {
            out.add(Check.ok("binlog_row_metadata", "FULL: the binlog names each row's columns"));
        } else {
            out.add(Check.warning("binlog_row_metadata", metadata == null ? "not available on this server version"
                    : "is " + metadata, "Column names then come from the catalog, re-read at each schema change; a "
                    + "change made while Ferry is far behind cannot be matched. Where available (MariaDB 10.5+, MySQL "
                    + "8.0.1+): SET GLOBAL binlog_row_metadata = 'FULL'; and add binlog_row_metadata=FULL to my.cnf."));
        }
        long serverId = Long.parseLong(value(c, "SELECT @@server_id"));
        if (serverId == 0) {
            out.add(Check.problem("server_id", "is 0: the server refuses replicas", "Set server_id=1 (any number not used "
                    + "by another server) in the [mysqld] section of my.cnf and restart the server."));
        } else if (serverId == settings.serverId()) {
            out.add(Check.problem("server_id", "the server's id " + serverId + " is the one Ferry would use",
                    "Set source.server_id to a number that neither the server nor any of its replicas uses."));
        } else {
            out.add(Check.ok("server_id", "server " + serverId + "; Ferry connects as replica " + settings.serverId()));
        }
        out.addAll(privileges(c));
        out.add(retention(c));
        List<TableId> tables = catalog.tables(settings.database(), settings.tables());
        for (TableId named : settings.tables().names()) {
            if (!tables.contains(named)) {
                out.add(Check.problem("table " + named, "does not exist (or the user cannot see it)",
                        "Create it, or correct source.tables."));
            }
        }
        if (tables.isEmpty()) {
            out.add(Check.problem("tables", "no table of database " + settings.database() + " matches source.tables",
                    "Correct source.database or source.tables."));
        }
        for (TableId t : tables) {
            out.add(tableCheck(c, catalog, t));
        }
        return out;
    }

    /** Refuses to start on a server whose binlog Ferry cannot read, with the same fixes as the checks. */
    void requireForStart(Connection c) throws SQLException, FerryException {
        List<Check> blocking = new ArrayList<>();
        blocking.add(logBin(c));
        blocking.add(setting(c, "binlog_format", "ROW", "Ferry reads row changes; STATEMENT and MIXED binlogs carry SQL text"));
        blocking.add(setting(c, "binlog_row_image", "FULL", "Ferry needs every column of the old and new row"));
        blocking.addAll(privileges(c));
        for (Check check : blocking) {
            if (check.status() == Check.Status.PROBLEM) {
                throw new FerryException(ErrorKind.PREREQUISITE, "MySQL/MariaDB at " + settings.address() + ": "
                        + check.subject() + " " + check.detail() + ". " + check.fix());
            }
        }
    }

    private Check logBin(Connection c) throws SQLException {
        if ("1".equals(value(c, "SELECT @@log_bin")) || "ON".equalsIgnoreCase(value(c, "SELECT @@log_bin"))) {
            return Check.ok("log_bin", "ON");
        }
        return Check.problem("log_bin", "is OFF: the server keeps no binlog, so there are no changes to read",
                "Add log_bin=mysql-bin (and server_id=1, binlog_format=ROW) to the [mysqld] section of my.cnf and "
                        + "restart the server.");
    }

    private Check setting(Connection c, String name, String expected, String why) throws SQLException {
        String actual = variable(c, name);
        if (expected.equalsIgnoreCase(actual)) {
            return Check.ok(name, actual);
        }
        return Check.problem(name, "is " + actual + ", but must be " + expected + " (" + why + ")",
                "Run SET GLOBAL " + name + " = '" + expected + "'; and add " + name + "=" + expected + " to the [mysqld] "
                        + "section of my.cnf; sessions already open keep the old value until they reconnect.");
    }

    /** The user's server-wide privileges from SHOW GRANTS: REPLICATION SLAVE and REPLICATION CLIENT. */
    private List<Check> privileges(Connection c) throws SQLException {
        List<String> grants = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW GRANTS")) {
            while (rs.next()) {
                grants.add(rs.getString(1).toUpperCase(Locale.ROOT));
            }
        }
        List<Check> out = new ArrayList<>();
        boolean viaRoles = grants.stream().anyMatch(g -> g.startsWith("GRANT `") || g.startsWith("GRANT '"));
        String user = value(c, "SELECT CURRENT_USER()");
        for (String[] p : new String[][] {{"REPLICATION SLAVE", "REPLICATION SLAVE", "read the binlog"},
                {"REPLICATION CLIENT", "BINLOG MONITOR", "read the binlog position (SHOW MASTER STATUS)"}}) {
            boolean has = grants.stream().filter(g -> g.startsWith("GRANT ") && g.contains(" ON *.* "))
                    .map(g -> List.of(g.substring(6, g.indexOf(" ON *.* ")).split(",\\s*")))
                    .anyMatch(l -> l.contains("ALL PRIVILEGES") || l.contains(p[0]) || l.contains(p[1]) || l.contains("SUPER"));
            if (has) {
                out.add(Check.ok("privilege " + p[0], "granted to " + user));
            } else if (viaRoles) {
                out.add(Check.warning("privilege " + p[0], "not granted directly to " + user + " (roles are not inspected)",
                        "If no role grants it: GRANT " + p[0] + " ON *.* TO " + user + ";"));
            } else {
                out.add(Check.problem("privilege " + p[0], "missing for " + user + ", who needs it to " + p[2],
                        "GRANT " + p[0] + " ON *.* TO " + user + ";"));
            }
        }
        return out;
    }

    private Check retention(Connection c) throws SQLException {
        String seconds = variable(c, "binlog_expire_logs_seconds");
        long s = seconds == null ? 0 : (long) Double.parseDouble(seconds);
        if (s == 0) {
            String days = variable(c, "expire_logs_days");
            s = days == null ? 0 : (long) (Double.parseDouble(days) * 86_400);
        }
        if (s == 0) {
            return Check.ok("binlog retention", "binlogs are kept until purged by hand");
        }
        String hours = String.format(Locale.ROOT, "%.1f h", s / 3600.0);
        if (s < 86_400) {
            return Check.warning("binlog retention", "binlogs are purged after " + hours + ": a pipeline stopped longer "
                    + "loses its place and must snapshot again", "Keep them longer than the longest pause you expect: SET "
                    + "GLOBAL binlog_expire_logs_seconds = 604800; (and in my.cnf).");
        }
        return Check.ok("binlog retention", "binlogs are kept " + hours + "; a pipeline stopped longer must snapshot again");
    }

    private Check tableCheck(Connection c, Catalog catalog, TableId t) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeQuery("SELECT 1 FROM " + Connections.quote(t.schema()) + "." + Connections.quote(t.name())
                    + " LIMIT 0").close();
        } catch (SQLException e) {
            return Check.problem("table " + t, "cannot be read: " + e.getMessage(),
                    "GRANT SELECT ON " + Connections.quote(t.schema()) + ".* TO " + value(c, "SELECT CURRENT_USER()") + ";");
        }
        boolean keyed = catalog.shape(t).map(TableShape::keyed).orElse(false);
        return keyed ? Check.ok("table " + t, "readable, has a primary key")
                : Check.warning("table " + t, "has no primary key", "Sinks that apply changes by key cannot tell its rows "
                + "apart; add a primary key.");
    }

    static boolean mariaDb(String version) {
        return version.toLowerCase(Locale.ROOT).contains("mariadb");
    }

    /** A global variable's value, or null when the server has no such variable. */
    static String variable(Connection c, String name) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SHOW GLOBAL VARIABLES LIKE '" + name.replace("'", "") + "'")) {
            return rs.next() ? rs.getString(2) : null;
        }
    }

    static String value(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
