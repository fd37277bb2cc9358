package dev.ferry.mysql;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.source.TableFilter;
import java.util.List;

/**
 * The {@code source:} section of a MySQL or MariaDB pipeline, read once and frozen.
 *
 * @param tables          the configured tables and patterns; empty means every table of the database
 * @param initialSnapshot whether the first run copies the existing rows before streaming
 * @param serverId        the replica server id Ferry's binlog connection announces; unique among the
 *                        server's replicas
 * @param chunkRows       rows per snapshot chunk (one statement each)
 */
record MySqlSettings(String host, int port, String database, String user, String password, TableFilter tables,
                     boolean initialSnapshot, long serverId, int chunkRows) {

    static final Setting<String> HOST = Setting.string("host", "MySQL or MariaDB host name or address", "127.0.0.1")
            .withDefault("127.0.0.1");
    static final Setting<Integer> PORT = Setting.integer("port", "MySQL or MariaDB TCP port", 1, 65535).withDefault(3306);
    static final Setting<String> DATABASE = Setting.string("database",
            "the database (schema) to capture; bare table names in tables are taken from it", "shop").required();
    static final Setting<String> USER = Setting.string("user",
            "a user with REPLICATION SLAVE, REPLICATION CLIENT and SELECT", "ferry").required();
    static final Setting<String> PASSWORD = Setting.string("password",
            "the user's password; write ${env:NAME} to read it from the environment", "${env:SHOP_MYSQL_PASSWORD}").secret();
    static final Setting<List<String>> TABLES = Setting.stringList("tables",
            "tables to capture as database.table or table, or patterns where * matches any characters "
                    + "(shop.order_*); default: every table in the database", "[orders, customers]");
    static final Setting<String> SNAPSHOT = Setting.oneOf("snapshot",
            "initial: copy existing rows first, in one consistent snapshot transaction (no global lock on MariaDB), "
                    + "then stream from the binlog position of that snapshot; never: stream changes only",
            "initial", "never").withDefault("initial");
    static final Setting<Integer> SERVER_ID = Setting.integer("server_id",
            "the replica server id of Ferry's binlog connection; must differ from the server's and every other "
                    + "replica's; default: derived from the pipeline name (10000 to 1,000,000,000)", 1, Integer.MAX_VALUE);
    static final Setting<Integer> CHUNK_ROWS = Setting.integer("snapshot_chunk_rows",
            "rows per snapshot chunk: tables with a primary key are read in chunks of this many rows by key, inside "
                    + "the one snapshot transaction", 1, 100_000).withDefault(4096);

    static final List<Setting<?>> ALL = List.of(HOST, PORT, DATABASE, USER, PASSWORD, TABLES, SNAPSHOT, SERVER_ID,
            CHUNK_ROWS);

    static MySqlSettings read(String pipelineName, ComponentConfig c) throws FerryException {
        String database = c.get(DATABASE);
        TableFilter tables = TableFilter.parse(c.find(TABLES).orElse(List.of()), database);
        for (var t : tables.names()) {
            if (!t.schema().equals(database)) {
                throw FerryException.config(c.where(TABLES.key()) + " names " + t + ", outside database " + database
                        + ": a MySQL source captures one database. Use a second pipeline for " + t.schema() + ".");
            }
        }
        long serverId = c.find(SERVER_ID).map(Integer::longValue)
                .orElse(10_000L + Math.floorMod(pipelineName.hashCode(), 999_990_000));
        return new MySqlSettings(c.get(HOST), c.get(PORT), database, c.get(USER), c.find(PASSWORD).orElse(null), tables,
                c.get(SNAPSHOT).equals("initial"), serverId, c.get(CHUNK_ROWS));
    }

    /** {@code host:port/database}, for messages. */
    String address() {
        return host + ":" + port + "/" + database;
    }

    @Override
    public String toString() {
        // never print the password
        return "MySqlSettings[" + user + "@" + address() + ", password=" + (password == null ? "none" : "***") + "]";
    }
}
