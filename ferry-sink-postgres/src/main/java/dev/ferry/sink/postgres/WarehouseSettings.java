package dev.ferry.sink.postgres;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import java.util.List;

/**
 * The {@code sink:} section of a {@code type: postgres} sink, read once and frozen.
 *
 * @param schema       the target schema that holds the mirror, history and Ferry's own tables
 * @param history      whether each source table also gets an append-only history table
 * @param tableName    the mirror table's name pattern: {@code {schema}} and {@code {table}} are the source's
 * @param historyName  the history table's name pattern, the same placeholders
 * @param logPartition the partition of a Log of several this sink delivers (its history rows carry it in
 *                     {@code _ferry_partition}), or -1 for a Log of one
 */
record WarehouseSettings(String host, int port, String database, String user, String password, String schema,
                         boolean history, String tableName, String historyName, int logPartition) {

    static final Setting<String> HOST = Setting.string("host", "host name or address of the warehouse PostgreSQL",
            "warehouse.internal").withDefault("127.0.0.1");
    static final Setting<Integer> PORT = Setting.integer("port", "the warehouse's TCP port", 1, 65535).withDefault(5432);
    static final Setting<String> DATABASE = Setting.string("database", "the warehouse database (it must exist)",
            "analytics").required();
    static final Setting<String> USER = Setting.string("user",
            "a role with CREATE on the database (to create the schema) or on the schema, or owning the tables there",
            "ferry_writer").required();
    static final Setting<String> PASSWORD = Setting.string("password",
            "the role's password; write ${env:NAME} to read it from the environment", "${env:WAREHOUSE_PASSWORD}").secret();
    static final Setting<String> SCHEMA = Setting.string("schema",
            "the schema of the mirror and history tables and of Ferry's bookkeeping tables (_ferry_offsets, "
                    + "_ferry_tables), created when missing; default: the pipeline name", "shop_mirror");
    static final Setting<Boolean> HISTORY = Setting.bool("history",
            "also keep, per source table, an append-only history table of every change (op, position, Log offset, "
                    + "commit time, transaction id, the row's values); tables without a primary key get only it")
            .withDefault(true);
    static final Setting<String> TABLE_NAME = Setting.string("table_name",
            "the mirror table's name; {schema} and {table} stand for the source's schema and table name",
            "{schema}_{table}").withDefault("{table}");
    static final Setting<String> HISTORY_NAME = Setting.string("history_table_name",
            "the history table's name; {schema} and {table} stand for the source's schema and table name",
            "{schema}_{table}_changes").withDefault("{table}_history");

    static final List<Setting<?>> ALL = List.of(HOST, PORT, DATABASE, USER, PASSWORD, SCHEMA, HISTORY, TABLE_NAME,
            HISTORY_NAME);

    static WarehouseSettings read(String pipelineName, ComponentConfig c) throws FerryException {
        String tableName = c.get(TABLE_NAME);
        String historyName = c.get(HISTORY_NAME);
        if (!tableName.contains("{table}")) {
            throw FerryException.config(c.where(TABLE_NAME.key()) + " must contain {table}, got \"" + tableName
                    + "\": every source table needs its own mirror table.");
        }
        if (!historyName.contains("{table}") || historyName.equals(tableName)) {
            throw FerryException.config(c.where(HISTORY_NAME.key()) + " must contain {table} and differ from table_name"
                    + ", got \"" + historyName + "\".");
        }
        return new WarehouseSettings(c.get(HOST), c.get(PORT), c.get(DATABASE), c.get(USER),
                c.find(PASSWORD).orElse(null), c.find(SCHEMA).orElse(pipelineName), c.get(HISTORY), tableName,
                historyName, -1);
    }

    /** The same settings for the sink of one partition of a Log of several. */
    WarehouseSettings forPartition(int partition) {
        return new WarehouseSettings(host, port, database, user, password, schema, history, tableName, historyName,
                partition);
    }

    /** {@code host:port/database}, for messages. */
    String address() {
        return host + ":" + port + "/" + database;
    }

    @Override
    public String toString() {
        return "WarehouseSettings[" + user + "@" + address() + ", schema " + schema + ", history " + history
                + ", password ***]";
    }
}
