package dev.ferry.jdbc;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.ServiceLoader;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens connections to the configured URL: with a bundled driver (PostgreSQL, MariaDB/MySQL, SQLite),
 * or with one found in the jars of the {@code drivers/} folder. Drivers from that folder are called
 * directly: {@link DriverManager} refuses drivers of a class loader other than the caller's.
 */
final class Connections {
    private static final Logger LOG = LoggerFactory.getLogger(Connections.class);

    private final JdbcSettings settings;
    private Driver driver;

    Connections(JdbcSettings settings) {
        this.settings = settings;
    }

    /** A new connection, read-only, not in auto-commit: each chunk is one short transaction. */
    Connection open() throws FerryException {
        Properties props = new Properties();
        if (settings.url().startsWith("jdbc:postgresql:")) {
            // text parameters typed by the server, as literals are: a key of type enum, inet or citext
            // compares with the text Ferry read from it (pgjdbc would send varchar, which they do not take)
            props.setProperty("stringtype", "unspecified");
            // rows as text, never binary (as pgjdbc switches to after five runs of a statement): RowReader
            // copies text values as the driver's bytes instead of making a String or a BigDecimal of each
            props.setProperty("prepareThreshold", "0");
        }
        props.putAll(settings.properties());
        if (settings.user() != null) {
            props.setProperty("user", settings.user());
        }
        if (settings.password() != null) {
            props.setProperty("password", settings.password());
        }
        try {
            Connection c = driver().connect(settings.url(), props);
            if (c == null) {
                throw FerryException.config("The driver " + driver().getClass().getName() + " does not accept the URL "
                        + settings.address() + " (source.url).");
            }
            Dialect.of(c).startSession(c);
            c.setAutoCommit(false);
            try {
                c.setReadOnly(true);
            } catch (SQLException e) {
                LOG.debug("{} cannot mark connections read-only", settings.address(), e);
            }
            return c;
        } catch (SQLException e) {
            throw classify(e);
        }
    }

    private Driver driver() throws FerryException {
        if (driver != null) {
            return driver;
        }
        try {
            driver = DriverManager.getDriver(settings.url());
            return driver;
        } catch (SQLException notBundled) {
            // look in the drivers folder below
        }
        List<URL> jars = new ArrayList<>();
        if (Files.isDirectory(settings.drivers())) {
            try (Stream<Path> files = Files.list(settings.drivers())) {
                for (Path f : files.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
                    jars.add(f.toUri().toURL());
                }
            } catch (IOException e) {
                throw FerryException.config("Cannot read the drivers folder " + settings.drivers() + ": " + e.getMessage());
            }
        }
        URLClassLoader loader = new URLClassLoader(jars.toArray(URL[]::new), Connections.class.getClassLoader());
        for (Driver d : ServiceLoader.load(Driver.class, loader)) {
            try {
                if (d.acceptsURL(settings.url())) {
                    LOG.info("JDBC driver {} from {}", d.getClass().getName(), settings.drivers());
                    driver = d;
                    return d;
                }
            } catch (SQLException e) {
                LOG.debug("driver {} refused the URL", d.getClass().getName(), e);
            }
        }
        throw FerryException.config("No JDBC driver accepts the URL " + settings.address() + " (source.url). Bundled are "
                + "PostgreSQL (jdbc:postgresql:), MariaDB/MySQL (jdbc:mariadb:, jdbc:mysql:) and SQLite (jdbc:sqlite:); put "
                + "the jar of any other database's driver into " + settings.drivers() + " (" + jars.size()
                + " jars there now).");
    }

    /** A failed statement's exception, as a Ferry error of the right kind. */
    FerryException classify(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        boolean connectivity = e instanceof SQLTransientConnectionException
                || e instanceof java.sql.SQLNonTransientConnectionException || state.startsWith("08");
        if (connectivity) {
            return new FerryException(ErrorKind.CONNECTIVITY, "The database at " + settings.address() + " cannot be "
                    + "reached: " + e.getMessage() + ". Ferry retries; check that it runs and the URL is right.", e);
        }
        if (state.startsWith("28")) {
            return new FerryException(ErrorKind.PREREQUISITE, "The database at " + settings.address() + " refused the "
                    + "login of " + settings.user() + ": " + e.getMessage() + ". Check source.user and source.password.", e);
        }
        // 57014: PostgreSQL's statement_timeout; 70100: MariaDB's max_statement_time (and an interrupted query)
        if (state.equals("57014") || state.equals("70100") || e instanceof java.sql.SQLTimeoutException) {
            return new FerryException(ErrorKind.CONNECTIVITY, "A chunk query on " + settings.address() + " ran past "
                    + "statement_timeout_seconds and was cancelled: " + e.getMessage() + ". Ferry retries; lower "
                    + "chunk_rows or raise statement_timeout_seconds if it keeps happening.", e);
        }
        return new FerryException(ErrorKind.PREREQUISITE, "A query on " + settings.address() + " failed: " + e.getMessage()
                + " (SQL state " + state + "). Check that the user may read the configured tables.", e);
    }

    static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing a broken connection
            }
        }
    }

}
