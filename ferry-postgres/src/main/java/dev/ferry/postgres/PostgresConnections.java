package dev.ferry.postgres;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.postgresql.PGProperty;

/**
 * Opens connections to the source with Ferry's session settings, and turns connection failures
 * into errors that say what to fix. The classification happens here, where the SQLSTATE is known.
 */
final class PostgresConnections {
    /**
     * Session settings that make the server's text output the form {@link TextValues} expects, and
     * Ferry's own few writes (snapshot watermarks, markers) flushed at their commit: a walsender sends
     * only WAL flushed to disk, so on a server with {@code synchronous_commit = off} a watermark would
     * otherwise wait for the WAL writer (up to {@code wal_writer_delay}, 200 ms) and every chunk with
     * it. {@code local}: flushed here, never waiting for synchronous standbys.
     */
    static final String[] SESSION = {
        "SET DateStyle = 'ISO, YMD'", "SET TimeZone = 'UTC'", "SET IntervalStyle = 'iso_8601'",
        "SET extra_float_digits = 3", "SET bytea_output = 'hex'", "SET synchronous_commit = local",
    };

    private final ConnectionSettings settings;

    PostgresConnections(ConnectionSettings settings) {
        this.settings = settings;
    }

    /** A regular connection, for the catalog and the snapshot. */
    Connection regular() throws FerryException {
        Connection c = open(false);
        try (Statement s = c.createStatement()) {
            for (String sql : SESSION) {
                s.execute(sql);
            }
        } catch (SQLException e) {
            close(c);
            throw classify(e, false);
        }
        return c;
    }

    /** A logical replication connection (replication=database, simple query protocol). */
    Connection replication() throws FerryException {
        Connection c = open(true);
        try (Statement s = c.createStatement()) {
            for (String sql : SESSION) {
                s.execute(sql);
            }
            try (java.sql.ResultSet rs = s.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
                if (rs.next() && rs.getBoolean(1)) {
                    ObservedSockets.stopPeeking(c);
                }
            }
        } catch (SQLException e) {
            close(c);
            throw classify(e, true);
        }
        return c;
    }

    private Connection open(boolean replication) throws FerryException {
        Properties p = new Properties();
        PGProperty.USER.set(p, settings.user());
        if (settings.password() != null) {
            PGProperty.PASSWORD.set(p, settings.password());
        }
        PGProperty.APPLICATION_NAME.set(p, "ferry");
        PGProperty.CONNECT_TIMEOUT.set(p, 10);
        PGProperty.TCP_KEEP_ALIVE.set(p, true);
        // values are read as the server's own text output (see TextValues), never in binary
        PGProperty.BINARY_TRANSFER.set(p, false);
        String token = null;
        if (replication) {
            PGProperty.REPLICATION.set(p, "database");
            PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "10");
            PGProperty.PREFER_QUERY_MODE.set(p, "simple");
            token = ObservedSockets.observe(p);
        }
        String url = "jdbc:postgresql://" + hostForUrl() + ":" + settings.port() + "/" + settings.database();
        try {
            Connection c = DriverManager.getConnection(url, p);
            if (token != null) {
                ObservedSockets.attach(token, c);
            }
            return c;
        } catch (SQLException e) {
            if (token != null) {
                ObservedSockets.forget(token);
            }
            throw classify(e, replication);
        }
    }

    private String hostForUrl() {
        String h = settings.host();
        return h.contains(":") && !h.startsWith("[") ? "[" + h + "]" : h;
    }

    /** Turns a failure to connect or to set up the session into a FerryException with the fix. */
    FerryException classify(SQLException e, boolean replication) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String where = "PostgreSQL at " + settings.address();
        String msg = e.getMessage() == null ? "" : e.getMessage();
        if (state.equals("28P01") || (state.equals("28000") && msg.contains("password"))) {
            return new FerryException(ErrorKind.CONFIG, where + " rejected the password of user " + settings.user()
                    + ". Check source.user and source.password in the pipeline file (the password is usually "
                    + "given as ${env:NAME}; is the variable set to the right value?).", e);
        }
        if (state.equals("28000") && msg.contains("pg_hba.conf") && replication) {
            return new FerryException(ErrorKind.PREREQUISITE, where + " does not accept replication connections from "
                    + "this host for user " + settings.user() + " (" + msg + "). Add a line such as "
                    + "\"host replication " + settings.user() + " <this host>/32 scram-sha-256\" to pg_hba.conf and run "
                    + "SELECT pg_reload_conf();", e);
        }
        if (state.equals("28000")) {
            return new FerryException(ErrorKind.CONFIG, where + " refused user " + settings.user() + ": " + msg
                    + ". Check source.user, and that pg_hba.conf allows this host.", e);
        }
        if (state.equals("3D000")) {
            return new FerryException(ErrorKind.CONFIG, where + ": database " + settings.database()
                    + " does not exist. Check source.database in the pipeline file.", e);
        }
        if (state.equals("08004") && msg.contains("password")) {
            return new FerryException(ErrorKind.CONFIG, where + " asks for a password, but source.password is not set. "
                    + "Add password: ${env:NAME} to the source and set that environment variable.", e);
        }
        if (msg.contains("must be owner of")) {
            return new FerryException(ErrorKind.PREREQUISITE, where + ": " + msg + ". Adding tables to a publication "
                    + "needs their owner: create the publication as the tables' owner (CREATE PUBLICATION ... FOR "
                    + "TABLE ...;) and set source.publication to its name, or run Ferry as the owner.", e);
        }
        if (state.equals("42501") && msg.contains("permission denied for")) {
            return new FerryException(ErrorKind.PREREQUISITE, where + ": " + msg + ". Grant it, for example GRANT SELECT "
                    + "ON ALL TABLES IN SCHEMA public TO " + quoteIdent(settings.user()) + ";", e);
        }
        if (state.equals("42501") && msg.contains("permission denied to create")) {
            return new FerryException(ErrorKind.PREREQUISITE, where + ": " + msg + ". Run GRANT CREATE ON DATABASE "
                    + quoteIdent(settings.database()) + " TO " + quoteIdent(settings.user()) + "; or create the "
                    + "publication yourself and set source.publication.", e);
        }
        if (msg.contains("must be superuser or replication role") || msg.contains("permission denied to start WAL sender")
                || msg.contains("must have the REPLICATION attribute") || state.equals("42501")) {
            return new FerryException(ErrorKind.PREREQUISITE, where + ": user " + settings.user()
                    + " may not use replication (" + msg + "). Run ALTER ROLE " + quoteIdent(settings.user())
                    + " WITH REPLICATION; as a superuser.", e);
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (state.startsWith("08") || root instanceof ConnectException || root instanceof UnknownHostException
                || root instanceof NoRouteToHostException || root instanceof SocketTimeoutException) {
            String why = root instanceof UnknownHostException ? "the host name " + settings.host() + " is not known"
                    : root.getMessage() != null ? root.getMessage() : msg;
            return new FerryException(ErrorKind.CONNECTIVITY, "Cannot connect to " + where + ": " + why
                    + ". Check source.host and source.port, that the server is running, and that it listens on "
                    + "that address (listen_addresses) and is not blocked by a firewall.", e);
        }
        if (state.equals("57P03")) {
            return new FerryException(ErrorKind.CONNECTIVITY, where + " is starting up or shutting down (" + msg
                    + "). Try again in a moment.", e);
        }
        return new FerryException(ErrorKind.CONNECTIVITY, where + ": " + msg + " (SQLSTATE " + state + ").", e);
    }

    /** Quotes an identifier for SQL: always double-quoted, inner quotes doubled. */
    static String quoteIdent(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    /** Quotes a string literal for SQL. */
    static String quoteLiteral(String value) {
        return "'" + value.replace("'", "''") + "'";
    }

    static void close(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // closing after failure or at the end; nothing more to do
        }
    }
}
