package dev.ferry.mysql;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * Opens JDBC connections to the source with Ferry's session settings, and turns failures into errors
 * that say what to fix. The classification happens here, where the error code is known.
 */
final class Connections {
    /** TIMESTAMP values are read in UTC, as the binlog carries them. */
    static final String SESSION = "SET time_zone = '+00:00'";

    private final MySqlSettings settings;

    Connections(MySqlSettings settings) {
        this.settings = settings;
    }

    Connection open() throws FerryException {
        Properties p = new Properties();
        p.setProperty("user", settings.user());
        if (settings.password() != null) {
            p.setProperty("password", settings.password());
        }
        p.setProperty("connectTimeout", "10000");
        p.setProperty("tcpKeepAlive", "true");
        // YEAR as a number and TINYINT(1) as a number: Ferry converts values itself
        p.setProperty("yearIsDateType", "false");
        p.setProperty("tinyInt1isBit", "false");
        Connection c;
        try {
            c = DriverManager.getConnection("jdbc:mariadb://" + settings.host() + ":" + settings.port() + "/", p);
        } catch (SQLException e) {
            throw classify(e);
        }
        try (Statement s = c.createStatement()) {
            s.execute(SESSION);
        } catch (SQLException e) {
            close(c);
            throw classify(e);
        }
        return c;
    }

    /**
     * A failure to connect or to run a statement: access denied is a configuration mistake, an
     * unreachable or lost server is CONNECTIVITY (retried), anything else INTERNAL with the server's words.
     */
    FerryException classify(SQLException e) {
        int code = e.getErrorCode();
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String where = "MySQL/MariaDB at " + settings.host() + ":" + settings.port();
        if (code == 1045) {
            return new FerryException(ErrorKind.CONFIG, where + " refused user " + settings.user() + ": wrong user or "
                    + "password (" + e.getMessage() + "). Check source.user and source.password.", e);
        }
        if (code == 1049) {
            return new FerryException(ErrorKind.CONFIG, where + " has no database " + settings.database()
                    + ". Check source.database.", e);
        }
        if (code == 1227 || code == 1142 || code == 1044) {
            return new FerryException(ErrorKind.PREREQUISITE, where + " denied user " + settings.user() + " a privilege: "
                    + e.getMessage() + ". Ferry needs REPLICATION SLAVE, REPLICATION CLIENT and SELECT: GRANT REPLICATION "
                    + "SLAVE, REPLICATION CLIENT, SELECT ON *.* TO '" + settings.user() + "'@'%';", e);
        }
        if (state.startsWith("08") || state.equals("70100") || code == 1053 || code == 2013 || code == 2006
                || causedByIo(e)) {
            return new FerryException(ErrorKind.CONNECTIVITY, "Cannot reach " + where + ": " + e.getMessage()
                    + ". Is the server running, and does it listen there?", e);
        }
        return new FerryException(ErrorKind.INTERNAL, where + " failed: " + e.getMessage() + " (error " + code
                + ", SQLSTATE " + state + ").", e);
    }

    static boolean causedByIo(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof java.io.IOException) {
                return true;
            }
        }
        return false;
    }

    static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing a broken connection: nothing to do
            }
        }
    }

    /** Quotes an identifier with backticks. */
    /**
     * The server's binlog status row (file, position, ...): {@code SHOW MASTER STATUS}, or on MySQL
     * 8.4+, which removed it, {@code SHOW BINARY LOG STATUS}. The caller closes the result set's statement.
     */
    static java.sql.ResultSet binlogStatus(java.sql.Statement s) throws java.sql.SQLException {
        try {
            return s.executeQuery("SHOW MASTER STATUS");
        } catch (java.sql.SQLSyntaxErrorException e) {
            return s.executeQuery("SHOW BINARY LOG STATUS");
        }
    }

    static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }
}
