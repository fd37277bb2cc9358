package dev.ferry.jdbc;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The {@code source:} section of a JDBC pipeline, read once and frozen.
 *
 * @param url               the JDBC URL; a read replica is just another URL
 * @param properties        extra connection properties handed to the driver as they are
 * @param drivers           the folder whose jars hold drivers beyond the bundled ones
 * @param tables            each table and its options, in the order they are read
 * @param chunkRows         the most rows per chunk (wide rows make fewer): one short read-only transaction each
 * @param fetchSize         the most rows the driver fetches per round trip (wide rows make fewer)
 * @param statementTimeout  the longest one chunk's query may run; zero: no limit
 * @param maxRowsPerSecond  the cap on rows read per second; 0: none
 * @param readers           connections reading a full table's key ranges at the same time; 1: the source's own only
 * @param interval          the pause between two runs of {@code ferry run} without {@code --once}
 */
record JdbcSettings(String url, String user, String password, Map<String, String> properties, Path drivers,
                    List<TableSpec> tables, int chunkRows, int fetchSize, Duration statementTimeout,
                    int maxRowsPerSecond, int readers, Duration interval) {

    static final Setting<String> URL = Setting.string("url",
            "the JDBC URL of the database (or of a read replica): jdbc:postgresql://..., jdbc:mariadb://..., "
                    + "jdbc:mysql://..., jdbc:sqlite:FILE, or any URL a driver in drivers/ accepts",
            "jdbc:postgresql://127.0.0.1:5432/shop").required();
    static final Setting<String> USER = Setting.string("user", "the user; SELECT on the tables is all it needs", "reader");
    static final Setting<String> PASSWORD = Setting.string("password",
            "the user's password; write ${env:NAME} to read it from the environment", "${env:SHOP_PASSWORD}").secret();
    static final Setting<Map<String, String>> PROPERTIES = Setting.stringMap("properties",
            "connection properties handed to the driver as they are", "{sslmode: require}");
    static final Setting<String> DRIVERS = Setting.string("drivers",
            "a folder of driver jars for databases beyond the bundled PostgreSQL, MariaDB/MySQL and SQLite drivers; "
                    + "relative to the pipeline file; a missing folder is fine", "drivers/").withDefault("drivers");
    static final Setting<String> TABLES = Setting.section("tables", true,
            "the tables to extract, in order: each a name (schema.table, or table in the connection's schema) or a "
                    + "map with table: and its options (mode, cursor, key, lookback, deletes)",
            "[public.customers, {table: public.orders, mode: incremental, cursor: updated_at}]").required();
    static final Setting<String> TABLE = Setting.string("table",
            "(per table) the table's name, in a map entry of tables:", "public.orders");
    static final Setting<String> MODE = Setting.oneOf("mode",
            "full: the whole table every run, replacing the previous copy (a truncate, then every row); "
                    + "incremental: the rows whose cursor column moved past the last run's mark. Given here, the "
                    + "default of every table; given in a table's entry, that table's", "full", "incremental")
            .withDefault("full");
    static final Setting<String> CURSOR = Setting.string("cursor",
            "(per table, incremental) the column that grows with every insert and update: an updated-at timestamp "
                    + "or an increasing id; on PostgreSQL also xmin, the row versions' transaction ids (no column "
                    + "needed, late commits found without a look-back; see docs/jdbc.md)", "updated_at");
    static final Setting<List<String>> KEY = Setting.stringList("key",
            "(per table) the columns that identify a row, when the table has no primary key", "[order_id, line]");
    static final Setting<String> LOOKBACK = Setting.string("lookback",
            "how far behind its last mark an incremental run reads again, for rows committed late with an earlier "
                    + "cursor value (a long transaction); rows already delivered are recognised by key and cursor and "
                    + "not sent again. A duration (30s, 10m, 2h, 1d) for timestamp cursors, a number for id "
                    + "cursors; 0: none. Here the default of every table, in a table's entry that table's", "10m")
            .withDefault("0");
    static final Setting<String> DELETES = Setting.string("deletes",
            "how an incremental table's deletes are found: none; key_compare, each run compares the table's keys "
                    + "with the last run's, range by range (row count, and the sum of a single integer key), reading "
                    + "keys only where a range differs, and sends a delete for each key gone (see docs/jdbc.md); or "
                    + "soft_delete:COLUMN, a column that is set (not null, not false, not 0) on deleted rows, which are "
                    + "then sent as deletes. Here the default of every table, in a table's entry that table's",
            "key_compare").withDefault("none");
    static final Setting<Integer> CHUNK_ROWS = Setting.integer("chunk_rows",
            "the most rows per chunk: each chunk is one keyset-paginated query in its own short read-only "
                    + "transaction; wide rows make smaller chunks (about 4 MB of rows each, 16 rows first)",
            1, 1_000_000).withDefault(10_000);
    static final Setting<Integer> FETCH_SIZE = Setting.integer("fetch_size",
            "the most rows the driver fetches per round trip, at most chunk_rows: by default a chunk comes in "
                    + "one (each round trip waits for the server; on a busy machine they, not the rows, set the pace); "
                    + "a table without a key is read in one streamed query, at most this many rows in memory at a "
                    + "time; wide rows make smaller fetches (about 4 MB of rows each)", 1, 1_000_000)
            .withDefault(10_000);
    static final Setting<Integer> STATEMENT_TIMEOUT = Setting.integer("statement_timeout_seconds",
            "the longest one chunk's query may run before the database cancels it; 0: no limit", 0, 86_400)
            .withDefault(300);
    static final Setting<Integer> MAX_ROWS_PER_SECOND = Setting.integer("max_rows_per_second",
            "the most rows read per second, to spare a busy source; 0: no cap", 0, Integer.MAX_VALUE).withDefault(0);
    static final Setting<Integer> READERS = Setting.integer("readers",
            "connections reading a full table's chunks at the same time, each on its own thread (one more connection "
                    + "to the source each): the table's key ranges (the key chunk_rows rows on, found by a keys-only "
                    + "walk) are read concurrently, each in its own short read-only transaction, and delivered in key "
                    + "order, so the output is the same as with 1; incremental tables and key comparisons are read on "
                    + "one connection", 1, 64).withDefault(1);
    static final Setting<Integer> INTERVAL = Setting.integer("interval_seconds",
            "ferry run without --once and without schedule: the pause between the end of one run and the start "
                    + "of the next", 1, 86_400 * 7).withDefault(300);

    static final List<Setting<?>> ALL = List.of(URL, USER, PASSWORD, PROPERTIES, DRIVERS, TABLES, TABLE, MODE, CURSOR,
            KEY, LOOKBACK, DELETES, CHUNK_ROWS, FETCH_SIZE, STATEMENT_TIMEOUT, MAX_ROWS_PER_SECOND, READERS, INTERVAL);
    /** The keys a table's entry may hold. */
    static final List<Setting<?>> PER_TABLE = List.of(TABLE, MODE, CURSOR, KEY, LOOKBACK, DELETES);

    static JdbcSettings read(ComponentConfig c) throws FerryException {
        for (Setting<?> s : List.of(TABLE, CURSOR, KEY)) {
            if (c.has(s.key())) {
                throw FerryException.config(c.where(s.key()) + " belongs to one table: write it in that table's entry "
                        + "of tables: (- {table: public.orders, " + s.key() + ": ...}).");
            }
        }
        List<TableSpec> tables = new ArrayList<>();
        for (ComponentConfig t : c.items(TABLES.key(), TABLE.key())) {
            t.rejectUnknownKeys(PER_TABLE);
            tables.add(TableSpec.read(t, c));
        }
        if (tables.isEmpty()) {
            throw FerryException.config(c.where(TABLES.key()) + " is empty; name at least one table.");
        }
        String url = c.get(URL).trim();
        if (url.startsWith("jdbc:sqlite:") && !url.contains("?") && !url.contains(":memory:")) {
            // an SQLite file named relative to the pipeline file, like every other path in it
            String file = url.substring("jdbc:sqlite:".length());
            if (!file.isEmpty() && !file.startsWith("file:") && !Path.of(file).isAbsolute()) {
                url = "jdbc:sqlite:" + c.resolve(file);
            }
        }
        return new JdbcSettings(url, c.find(USER).orElse(null), c.find(PASSWORD).orElse(null),
                c.find(PROPERTIES).orElse(Map.of()), c.resolve(c.get(DRIVERS)), List.copyOf(tables), c.get(CHUNK_ROWS),
                c.get(FETCH_SIZE), Duration.ofSeconds(c.get(STATEMENT_TIMEOUT)), c.get(MAX_ROWS_PER_SECOND),
                c.get(READERS), Duration.ofSeconds(c.get(INTERVAL)));
    }

    /** A {@code password=} parameter in any position ({@code ;} SQL Server, {@code &} or {@code ?} query). */
    private static final Pattern PASSWORD_PARAMETER = Pattern.compile("(?i)([;&?]password=)[^;&]*");
    /** Oracle's {@code user/password@} before the host ({@code jdbc:oracle:thin:scott/tiger@//db:1521/shop}). */
    private static final Pattern ORACLE_LOGIN = Pattern.compile("(?i)^(jdbc:oracle:[a-z0-9]+:)[^@/]*/[^@]*@");

    /**
     * The URL without credentials or query parameters, for messages, checks and {@code ferry status}: a
     * password written in the URL never shows ({@code //user:pass@}, Oracle's {@code user/pass@},
     * {@code password=} parameters).
     */
    String address() {
        String u = PASSWORD_PARAMETER.matcher(url).replaceAll("$1***");
        u = ORACLE_LOGIN.matcher(u).replaceFirst("$1@");
        int q = u.indexOf('?');
        if (q >= 0) {
            u = u.substring(0, q);
        }
        int at = u.indexOf('@');
        if (at >= 0 && u.indexOf("//") >= 0 && u.indexOf("//") < at) {
            u = u.substring(0, u.indexOf("//") + 2) + u.substring(at + 1);
        }
        return u;
    }

    Optional<TableSpec> table(String name) {
        return tables.stream().filter(t -> t.name().equals(name)).findFirst();
    }

    @Override
    public String toString() {
        // never print the password
        return "JdbcSettings[" + address() + ", user=" + user + ", password=" + (password == null ? "none" : "***") + "]";
    }
}
