package dev.ferry.postgres;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.source.TableFilter;
import java.util.List;

/**
 * The {@code source:} section of a PostgreSQL pipeline, read once and frozen.
 *
 * @param tables               the configured tables and patterns; empty means every table of the database
 * @param newTablesCheckSeconds how often to look for new tables that match, 0 for never
 * @param streamInProgress     whether to use pgoutput protocol 2 streaming where the server has it
 * @param chunkedSnapshot      whether the first run reads the tables in chunks between watermarks
 * @param chunkRows            rows per chunk of a chunked snapshot
 * @param maxRowsPerSecond     the chunked snapshot's throttle, 0 for none
 * @param chunksInFlight       chunks read ahead of the stream
 * @param snapshotReaders      threads (each with a connection) reading chunks
 * @param adaptiveSnapshot     whether chunked snapshots slow down when a probe shows the source loaded
 * @param snapshotReplica      {@code host:port} of a standby to read chunks from, or null for the source itself
 * @param maxReplicaLagMb      an adaptive snapshot slows down while a standby of the source replays more than
 *                             this many MB behind it and falling further behind; 0: standbys are not watched
 */
record ConnectionSettings(String host, int port, String database, String user, String password,
                          TableFilter tables, boolean initialSnapshot, String slot, String publication,
                          String tablesWhere, int newTablesCheckSeconds, boolean streamInProgress,
                          boolean chunkedSnapshot, int chunkRows, int maxRowsPerSecond, int chunksInFlight,
                          int snapshotReaders, boolean adaptiveSnapshot, String snapshotReplica,
                          int maxReplicaLagMb) {

    static final Setting<String> HOST = Setting.string("host", "PostgreSQL host name or address", "127.0.0.1")
            .withDefault("127.0.0.1");
    static final Setting<Integer> PORT = Setting.integer("port", "PostgreSQL TCP port", 1, 65535).withDefault(5432);
    static final Setting<String> DATABASE = Setting.string("database", "the database to capture", "shop").required();
    static final Setting<String> USER = Setting.string("user",
            "a role with the REPLICATION attribute and SELECT on the tables", "ferry").required();
    static final Setting<String> PASSWORD = Setting.string("password",
            "the role's password; write ${env:NAME} to read it from the environment", "${env:SHOP_PG_PASSWORD}").secret();
    static final Setting<List<String>> TABLES = Setting.stringList("tables",
            "tables to capture as schema.table, or patterns where * matches any characters (sales.order_*); "
                    + "default: every table in the database", "[public.orders, public.customers, sales.*]");
    static final Setting<Integer> NEW_TABLES_CHECK = Setting.integer("new_tables_check_seconds",
            "how often to look for tables created since the start that match tables (they are added to the "
                    + "publication, their rows copied, and their changes streamed); 0: only at start",
            0, 86_400).withDefault(10);
    static final Setting<String> SNAPSHOT = Setting.oneOf("snapshot",
            "initial: copy existing rows first in one transaction, consistently with the stream; chunked: copy them "
                    + "in short chunks by key between watermarks while streaming (no long transaction, resumable; "
                    + "tables without a key are copied first in one transaction); never: stream changes only",
            "initial", "chunked", "never").withDefault("initial");
    /** Rows per chunk when the snapshot is paced: the adaptive pacing moves in chunks, so they stay small. */
    static final int PACED_CHUNK_ROWS = 4096;
    /**
     * Rows per chunk when nothing paces the snapshot: each chunk costs the server an index descent and an
     * executor start, so bigger chunks read faster (docs/snapshot-benchmarks.md).
     */
    static final int UNPACED_CHUNK_ROWS = 16_384;
    static final Setting<Integer> CHUNK_ROWS = Setting.integer("snapshot_chunk_rows",
            "rows per chunk of a chunked snapshot (snapshot: chunked, ferry snapshot); each chunk is one short "
                    + "statement, held in memory until its high watermark (at most 8 MB of it; the rest is read as "
                    + "the next chunk); default " + PACED_CHUNK_ROWS + " when the snapshot is paced (snapshot_adaptive "
                    + "or snapshot_max_rows_per_second), " + UNPACED_CHUNK_ROWS + " when it is not", 1, 100_000);
    static final Setting<Integer> MAX_ROWS_PER_SECOND = Setting.integer("snapshot_max_rows_per_second",
            "throttle for chunked snapshots, to spare the source; 0: as fast as the source answers",
            0, 100_000_000).withDefault(0);
    static final Setting<Integer> CHUNKS_IN_FLIGHT = Setting.integer("snapshot_chunks_in_flight",
            "chunks a chunked snapshot reads ahead of the stream (each waits in memory for its high watermark to "
                    + "come through the decoder)", 1, 64).withDefault(8);
    static final Setting<Integer> READERS = Setting.integer("snapshot_readers",
            "connections reading a chunked snapshot's chunks at the same time, each on its own thread (one more "
                    + "connection to the source each); the key ranges of one table are read in parallel too",
            1, 16).withDefault(2);
    static final Setting<Boolean> ADAPTIVE = Setting.bool("snapshot_adaptive",
            "pace chunked snapshots by what they cost the source: a probe (one more connection, every 50 ms) "
                    + "measures the source's write rate and its answer time while reading and in short pauses (300 ms "
                    + "every 5 s); the rate drops by 30% whenever the source writes less than 95% of its rate in the "
                    + "pauses or answers markedly slower, and grows again when it does not; snapshot_max_rows_per_second "
                    + "still caps it; false: only the cap")
            .withDefault(true);
    static final Setting<Integer> MAX_REPLICA_LAG_MB = Setting.integer("snapshot_max_replica_lag_mb",
            "with snapshot_adaptive, the rate also drops by 30% while a physical standby of the source replays more "
                    + "than this many MB of WAL behind it and is falling further behind (pg_stat_replication; the user "
                    + "needs pg_read_all_stats to see other roles' standbys); 0: standbys are not watched (set it for "
                    + "a standby delayed on purpose, recovery_min_apply_delay)", 0, 1_000_000).withDefault(64);
    static final Setting<String> REPLICA = Setting.string("snapshot_replica",
            "host:port of a hot standby of the source to read chunked snapshots from (same database, user and "
                    + "password); watermarks still go to the source, and each chunk waits until the standby has "
                    + "replayed its low watermark; default: read from the source", "replica.internal:5432");
    static final Setting<String> SLOT = Setting.string("slot",
            "replication slot name; default ferry_<name>", "ferry_shop");
    static final Setting<String> PUBLICATION = Setting.string("publication",
            "publication name; default ferry_<name>", "ferry_shop");

    static final Setting<Boolean> STREAM_IN_PROGRESS = Setting.bool("stream_in_progress",
            "on PostgreSQL 14+, have the server stream transactions larger than logical_decoding_work_mem while "
                    + "they run (pgoutput protocol 2): Ferry spills them to its state folder until they commit, "
                    + "instead of the server spilling them to its own disk; false: protocol 1").withDefault(true);

    static final List<Setting<?>> ALL = List.of(HOST, PORT, DATABASE, USER, PASSWORD, TABLES, SNAPSHOT, SLOT, PUBLICATION,
            NEW_TABLES_CHECK, STREAM_IN_PROGRESS, CHUNK_ROWS, MAX_ROWS_PER_SECOND, CHUNKS_IN_FLIGHT, READERS, ADAPTIVE, MAX_REPLICA_LAG_MB, REPLICA);

    static ConnectionSettings read(String pipelineName, ComponentConfig c) throws FerryException {
        TableFilter tables = TableFilter.parse(c.find(TABLES).orElse(List.of()), "public");
        String defaultName = "ferry_" + pipelineName.toLowerCase(java.util.Locale.ROOT);
        for (Setting<String> name : List.of(SLOT, PUBLICATION)) {
            String value = c.find(name).orElse(defaultName);
            if (!value.matches("[a-z0-9_]{1,63}")) {
                throw FerryException.config(c.where(name.key()) + " must be 1 to 63 lower-case letters, digits or _, got \""
                        + value + "\".");
            }
        }
        return new ConnectionSettings(c.get(HOST), c.get(PORT), c.get(DATABASE), c.get(USER),
                c.find(PASSWORD).orElse(null), tables, c.get(SNAPSHOT).equals("initial"),
                c.find(SLOT).orElse(defaultName), c.find(PUBLICATION).orElse(defaultName), c.where("tables"),
                c.get(NEW_TABLES_CHECK), c.get(STREAM_IN_PROGRESS), c.get(SNAPSHOT).equals("chunked"),
                c.find(CHUNK_ROWS).orElse(c.get(ADAPTIVE) || c.get(MAX_ROWS_PER_SECOND) > 0 ? PACED_CHUNK_ROWS
                        : UNPACED_CHUNK_ROWS),
                c.get(MAX_ROWS_PER_SECOND), c.get(CHUNKS_IN_FLIGHT), c.get(READERS), c.get(ADAPTIVE),
                replica(c), c.get(MAX_REPLICA_LAG_MB));
    }

    private static String replica(ComponentConfig c) throws FerryException {
        String value = c.find(REPLICA).orElse(null);
        if (value == null) {
            return null;
        }
        int colon = value.lastIndexOf(':');
        String port = colon < 0 ? "" : value.substring(colon + 1);
        if (colon <= 0 || !port.matches("[0-9]{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
            throw FerryException.config(c.where(REPLICA.key()) + " must be host:port, e.g. replica.internal:5432; got \""
                    + value + "\".");
        }
        return value;
    }

    /** The same settings pointing at {@code snapshot_replica}, or null when there is none. */
    ConnectionSettings replicaSettings() {
        if (snapshotReplica == null) {
            return null;
        }
        int colon = snapshotReplica.lastIndexOf(':');
        String replicaHost = snapshotReplica.substring(0, colon).replace("[", "").replace("]", "");
        return new ConnectionSettings(replicaHost, Integer.parseInt(snapshotReplica.substring(colon + 1)), database, user,
                password, tables, initialSnapshot, slot, publication, tablesWhere, newTablesCheckSeconds, streamInProgress,
                chunkedSnapshot, chunkRows, maxRowsPerSecond, chunksInFlight, snapshotReaders, adaptiveSnapshot, null,
                maxReplicaLagMb);
    }

    /** {@code host:port/database}, for messages. */
    String address() {
        return host + ":" + port + "/" + database;
    }

    @Override
    public String toString() {
        // never print the password
        return "ConnectionSettings[" + user + "@" + address() + ", password=" + (password == null ? "none" : "***") + "]";
    }
}
