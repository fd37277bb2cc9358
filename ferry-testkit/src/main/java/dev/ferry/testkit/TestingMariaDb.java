package dev.ferry.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private MariaDB server in a fresh temporary folder, from the machine's own binaries
 * ({@code mariadb-install-db}, {@code mariadbd}; {@code FERRY_MARIADB_BIN} names another folder holding
 * both), listening on a free loopback port, with the binlog on in ROW format, full row images and,
 * from 10.5 on, full row metadata. Meant for tests: durability is relaxed for speed. Grants are
 * enforced (never {@code --skip-grant-tables}), so least-privilege users behave as in production.
 *
 * <p>{@code mariadb-install-db} runs once per JVM and binaries folder, into a template data directory
 * that every new server gets a copy of; the template is deleted when the JVM exits. An administrator
 * {@code ferry_admin} with a random password, per server, is created at every start through
 * {@code --init-file}. When the JVM runs as root the server runs as root too ({@code --user=root}).
 *
 * <pre>{@code
 * try (TestingMariaDb db = TestingMariaDb.start()) {
 *     db.createDatabase("shop");
 *     db.execute("shop", "CREATE TABLE t (id int PRIMARY KEY)");
 * }
 * }</pre>
 */
public final class TestingMariaDb implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TestingMariaDb.class);
    private static final String HOST = "127.0.0.1";
    private static final String ADMIN = "ferry_admin";
    private static final int START_ATTEMPTS = 3;
    private static final Pattern OPTION_NAME = Pattern.compile("[a-z][a-z0-9_-]*");
    private static final Set<TestingMariaDb> RUNNING = ConcurrentHashMap.newKeySet();
    private static final DataDirTemplates TEMPLATES = new DataDirTemplates("ferry-mariadb-template-");
    private static Path binaries; // guarded by TestingMariaDb.class
    // The template's redo log has the size servers start with, so a copy is 34 MB, not 114, and is not resized.
    private static final String INNODB_LOG_FILE_SIZE = "16M";

    static {
        // Tests that forget close() must not leave servers behind after the JVM exits.
        Runtime.getRuntime().addShutdownHook(new Thread(TestingMariaDb::killAll, "ferry-mariadb-reaper"));
    }

    private final Path bin;
    private final Path baseDir;
    private final Map<String, String> options;
    private final Map<String, String> environment;
    private final String password;
    private int port;
    private Process process;
    private boolean stopped;

    private TestingMariaDb(Path bin, Path baseDir, Map<String, String> options, Map<String, String> environment,
                           String password) {
        this.bin = bin;
        this.baseDir = baseDir;
        this.options = options;
        this.environment = environment;
        this.password = password;
    }

    /** Starts a server with the default options (binlog on, ROW format, full images and metadata). */
    public static TestingMariaDb start() {
        return builder().start();
    }

    /** Returns a builder for a server with other options. */
    public static Builder builder() {
        return new Builder();
    }

    /** The host the server listens on, always {@code 127.0.0.1}. */
    public String host() {
        return HOST;
    }

    /** The TCP port the server listens on; stays the same across {@link #restart()}. */
    public int port() {
        return port;
    }

    /** The administrator's name ({@code ALL PRIVILEGES ... WITH GRANT OPTION}). */
    public String user() {
        return ADMIN;
    }

    /** The administrator's password, random per server. */
    public String password() {
        return password;
    }

    /** A MariaDB Connector/J URL for the given database ("" for none). */
    public String jdbcUrl(String database) {
        return "jdbc:mariadb://" + HOST + ":" + port + "/" + database;
    }

    /** Opens a connection to the given database as the administrator. */
    public Connection connect(String database) throws SQLException {
        return connect(database, ADMIN, password);
    }

    /** Opens a connection to the given database as the given user. */
    public Connection connect(String database, String user, String userPassword) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", userPassword);
        return DriverManager.getConnection(jdbcUrl(database), props);
    }

    /** Creates a database (utf8mb4); the name is quoted, so case and punctuation are kept. */
    public void createDatabase(String name) {
        execute("", "CREATE DATABASE " + quoteIdentifier(name) + " CHARACTER SET utf8mb4");
    }

    /**
     * Runs each statement in order, in autocommit mode, on one connection to the given database.
     *
     * @throws IllegalStateException naming the failed statement, with the SQLException as its cause
     */
    public void execute(String database, String... sql) {
        try (Connection connection = connect(database); Statement statement = connection.createStatement()) {
            for (String each : sql) {
                try {
                    statement.execute(each);
                } catch (SQLException e) {
                    throw new IllegalStateException("statement failed in database " + database + ": " + each
                            + " (" + e.getMessage() + ")", e);
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("could not connect to database " + database + " at " + jdbcUrl(database), e);
        }
    }

    /**
     * Creates (or re-grants) a user that may log in from the loopback address with the given
     * server-wide privileges ({@code "REPLICATION SLAVE, REPLICATION CLIENT, SELECT"}), and returns it
     * with a random password. The same name returns the same password.
     */
    public User createUser(String name, String privileges) {
        String userPassword = USER_PASSWORDS.computeIfAbsent(this.port + "/" + name, k -> randomPassword());
        String account = quoteLiteral(name) + "@" + quoteLiteral(HOST);
        execute("", "CREATE USER IF NOT EXISTS " + account + " IDENTIFIED BY " + quoteLiteral(userPassword),
                "GRANT " + privileges + " ON *.* TO " + account);
        return new User(name, userPassword);
    }

    private static final Map<String, String> USER_PASSWORDS = new ConcurrentHashMap<>();

    /**
     * The least-privileged user Ferry captures with: REPLICATION SLAVE, REPLICATION CLIENT and SELECT,
     * nothing more ({@code ferry_capture}).
     */
    public User grantCapture() {
        return createUser("ferry_capture", "REPLICATION SLAVE, REPLICATION CLIENT, SELECT");
    }

    /** The server's folder: {@code data/}, {@code server.log}; deleted by {@link #stop()}. */
    public Path baseDir() {
        return baseDir;
    }

    /** Stops the server cleanly and deletes its folder; calling it again does nothing. */
    public void stop() {
        synchronized (this) {
            if (stopped) {
                return;
            }
            stopped = true;
        }
        RUNNING.remove(this);
        shutdown();
        PostgresBinaries.deleteTree(baseDir);
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    /** Stops the server cleanly and starts it again on the same port with the same data. */
    public void restart() {
        requireRunning();
        shutdown();
        launchOn(port);
    }

    /** Kills the server with SIGKILL (a crash: no clean shutdown) and starts it again on the same port. */
    public void killAndRestart() {
        requireRunning();
        process.destroyForcibly();
        waitForExit(process, 30);
        launchOn(port);
    }

    @Override
    public String toString() {
        return "TestingMariaDb[" + HOST + ":" + port + ", " + baseDir + "]";
    }

    private synchronized void requireRunning() {
        if (stopped) {
            throw new IllegalStateException("MariaDB on port " + port + " was stopped; it cannot restart");
        }
    }

    private void shutdown() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy(); // SIGTERM: mariadbd shuts down cleanly
        if (!waitForExit(p, 60)) {
            LOG.warn("MariaDB on port {} did not stop within 60 s; killing it", port);
            p.destroyForcibly();
            waitForExit(p, 30);
        }
    }

    private static boolean waitForExit(Process p, int seconds) {
        try {
            return p.waitFor(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static TestingMariaDb launch(Builder builder) {
        long started = System.nanoTime();
        Path bin = binaries();
        String password = randomPassword();
        Path base = null;
        try {
            base = Files.createTempDirectory("ferry-mariadb-");
            TEMPLATES.copy(bin, folder -> install(bin, folder), base.resolve("data"));
            Files.writeString(base.resolve("init.sql"), "CREATE USER IF NOT EXISTS '" + ADMIN + "'@'" + HOST
                    + "' IDENTIFIED BY '" + password + "';\nGRANT ALL PRIVILEGES ON *.* TO '" + ADMIN + "'@'" + HOST
                    + "' WITH GRANT OPTION;\n", StandardCharsets.UTF_8);
            Map<String, String> options = new LinkedHashMap<>();
            options.put("log-bin", "mysql-bin");
            options.put("binlog-format", "ROW");
            options.put("binlog-row-image", "FULL");
            options.put("binlog-row-metadata", "FULL");
            options.put("server-id", "1");
            options.put("innodb-buffer-pool-size", "32M");
            options.put("innodb-log-file-size", INNODB_LOG_FILE_SIZE);
            options.put("innodb-flush-log-at-trx-commit", "2");
            options.put("sync-binlog", "0");
            options.put("max-connections", "60");
            options.put("character-set-server", "utf8mb4");
            options.put("collation-server", "utf8mb4_general_ci");
            options.putAll(builder.options);
            options.values().removeIf(v -> v == null);
            TestingMariaDb db = new TestingMariaDb(bin, base, options, Map.copyOf(builder.environment), password);
            db.launchOnFreePort();
            RUNNING.add(db);
            LOG.info("MariaDB started on {}:{} in {} ms ({})", HOST, db.port, (System.nanoTime() - started) / 1_000_000, base);
            return db;
        } catch (IOException e) {
            PostgresBinaries.deleteTree(base);
            throw new UncheckedIOException("could not prepare a MariaDB data directory", e);
        } catch (RuntimeException e) {
            PostgresBinaries.deleteTree(base);
            throw e;
        }
    }

    /**
     * Makes {@code folder/data} the template of every server from {@code bin}. Its files hold no
     * absolute path (InnoDB's are relative to the data directory, Aria's control file travels with
     * the tables), so a copy runs anywhere.
     */
    private static void install(Path bin, Path folder) {
        long started = System.nanoTime();
        List<String> install = new ArrayList<>(List.of(bin.resolve("mariadb-install-db").toString(), "--no-defaults",
                "--datadir=" + folder.resolve("data"), "--auth-root-authentication-method=socket",
                "--skip-test-db", "--innodb-log-file-size=" + INNODB_LOG_FILE_SIZE));
        if (Processes.isRoot()) {
            install.add("--user=root");
        }
        Processes.run(install, folder, null, 120);
        LOG.info("MariaDB data directory template made by mariadb-install-db in {} ms ({}, binaries {})",
                (System.nanoTime() - started) / 1_000_000, folder, bin);
    }

    private void launchOnFreePort() {
        for (int attempt = 1; ; attempt++) {
            port = freePort();
            try {
                launchOn(port);
                return;
            } catch (IllegalStateException e) {
                if (attempt >= START_ATTEMPTS || !logTail().contains("Address already in use")) {
                    throw e;
                }
            }
        }
    }

    private void launchOn(int onPort) {
        List<String> command = new ArrayList<>(List.of(bin.resolve("mariadbd").toString(), "--no-defaults",
                "--datadir=" + baseDir.resolve("data"), "--socket=" + baseDir.resolve("mariadb.sock"),
                "--pid-file=" + baseDir.resolve("mariadb.pid"), "--port=" + onPort, "--bind-address=" + HOST,
                "--skip-name-resolve", "--log-error=" + baseDir.resolve("server.log"),
                "--init-file=" + baseDir.resolve("init.sql")));
        options.forEach((name, value) -> command.add("--" + name + (value.isEmpty() ? "" : "=" + value)));
        if (Processes.isRoot()) {
            command.add("--user=root");
        }
        try {
            ProcessBuilder builder = new ProcessBuilder(command).directory(baseDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(baseDir.resolve("stdout.log").toFile());
            builder.environment().putAll(environment);
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start " + command.get(0), e);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("MariaDB did not start (exit " + process.exitValue()
                        + ")\n--- tail of the server log ---\n" + logTail());
            }
            if (accepts(onPort)) {
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while MariaDB started", e);
            }
        }
        process.destroyForcibly();
        throw new IllegalStateException("MariaDB did not accept connections within 90 s\n" + logTail());
    }

    /** Whether the administrator can log in: the init file has run, so the server is ready. */
    private boolean accepts(int onPort) {
        try (Socket s = new Socket(HOST, onPort)) {
            s.setSoTimeout(5_000); // a server that accepts but never greets must not hang the start
            s.getInputStream().read(); // the server's greeting
        } catch (IOException e) {
            return false;
        }
        Properties props = new Properties();
        props.setProperty("user", ADMIN);
        props.setProperty("password", password);
        props.setProperty("connectTimeout", "2000");
        try (Connection c = DriverManager.getConnection("jdbc:mariadb://" + HOST + ":" + onPort + "/", props)) {
            return true;
        } catch (SQLException e) {
            return false;
        }
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(baseDir.resolve("server.log"), StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(no server log: " + e.getMessage() + ")";
        }
    }

    /** Looked up once per JVM: the template is per binaries folder, and Debian's is a linked pair made here. */
    private static synchronized Path binaries() {
        if (binaries == null) {
            binaries = findBinaries();
        }
        return binaries;
    }

    private static Path findBinaries() {
        String env = System.getenv("FERRY_MARIADB_BIN");
        List<Path> candidates = env != null ? List.of(Path.of(env))
                : List.of(Path.of("/usr/sbin"), Path.of("/usr/bin"), Path.of("/usr/local/mysql/bin"));
        for (Path dir : candidates) {
            if (Files.isExecutable(dir.resolve("mariadbd"))) {
                if (!Files.isExecutable(dir.resolve("mariadb-install-db"))) {
                    // Debian puts the server in /usr/sbin and the installer in /usr/bin: link them side by side
                    Path installer = Path.of("/usr/bin/mariadb-install-db");
                    if (Files.isExecutable(installer)) {
                        return linkedPair(dir.resolve("mariadbd"), installer);
                    }
                    continue;
                }
                return dir;
            }
        }
        throw new IllegalStateException("No MariaDB server binaries found (mariadbd, mariadb-install-db) in " + candidates
                + ". Install them (Debian: apt-get install mariadb-server) or set FERRY_MARIADB_BIN to their folder.");
    }

    private static Path linkedPair(Path server, Path installer) {
        try {
            Path dir = Files.createTempDirectory("ferry-mariadb-bin-");
            Files.createSymbolicLink(dir.resolve("mariadbd"), server);
            Files.createSymbolicLink(dir.resolve("mariadb-install-db"), installer);
            dir.toFile().deleteOnExit();
            dir.resolve("mariadbd").toFile().deleteOnExit();
            dir.resolve("mariadb-install-db").toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("could not link the MariaDB binaries", e);
        }
    }

    private static int freePort() {
        try {
            return TestingPostgres.freePort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void killAll() {
        for (TestingMariaDb db : RUNNING) {
            synchronized (db) {
                if (db.stopped) {
                    continue;
                }
                db.stopped = true;
            }
            if (db.process != null) {
                db.process.destroyForcibly();
                waitForExit(db.process, 10);
            }
            PostgresBinaries.deleteTree(db.baseDir);
        }
    }

    private static String randomPassword() {
        return TestingPostgres.randomPassword();
    }

    /** Quotes a MariaDB identifier with backticks. */
    public static String quoteIdentifier(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    private static String quoteLiteral(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    /** A user from {@link #createUser}; {@code toString()} hides the password. */
    public record User(String name, String password) {
        @Override
        public String toString() {
            return "User[" + name + ", password ***]";
        }
    }

    /** Collects server options for a {@link TestingMariaDb} before starting it. */
    public static final class Builder {
        private final Map<String, String> options = new LinkedHashMap<>();
        private final Map<String, String> environment = new LinkedHashMap<>();

        private Builder() {}

        /**
         * Sets an environment variable of the server process: {@code environment("TZ", "Europe/Berlin")}
         * makes the server's {@code SYSTEM} time zone (the default {@code time_zone}) one with daylight
         * saving time, without loading the time zone tables that {@code --default-time-zone} needs.
         */
        public Builder environment(String name, String value) {
            environment.put(name, value);
            return this;
        }

        /**
         * Sets a {@code mariadbd} option, overriding the default ({@code option("binlog-format", "STATEMENT")});
         * an empty value passes the bare flag, null removes a default ({@code option("log-bin", null)}
         * starts without a binlog).
         */
        public Builder option(String name, String value) {
            String n = name.toLowerCase(Locale.ROOT).replace('_', '-');
            if (!OPTION_NAME.matcher(n).matches()) {
                throw new IllegalArgumentException("not a mariadbd option name: " + name);
            }
            if (value != null && (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0)) {
                throw new IllegalArgumentException("option " + name + " needs a one-line value");
            }
            options.put(n, value);
            return this;
        }

        /**
         * Creates, configures and starts the server; blocks until it accepts connections.
         *
         * @throws IllegalStateException if it does not start, with the tail of the server log
         */
        public TestingMariaDb start() {
            return launch(this);
        }
    }
}
