package dev.ferry.mysql;

import com.github.shyiko.mysql.binlog.event.Event;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.TableId;
import dev.ferry.source.Check;
import dev.ferry.source.Position;
import dev.ferry.source.Source;
import dev.ferry.source.SourceBatch;
import dev.ferry.source.SourceInfo;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MySQL and MariaDB change data capture from the binlog in ROW format.
 *
 * <p>Design notes.
 * <ul>
 *   <li>First run: the snapshot ({@link TableSnapshot}) reads every captured table in one consistent
 *       snapshot transaction and gives the binlog position of that snapshot; streaming starts there.
 *       The server keeps nothing for Ferry (no slot): what Ferry has not read stays in the binlog
 *       files until the server's retention purges them.</li>
 *   <li>Streaming: {@link BinlogReader} reads as a replica from a file and offset; {@link ChangeDecoder}
 *       makes events and positions. A restart resumes at the start of the transaction of the Log's last
 *       position and drops what the Log already holds, so nothing is repeated or lost, even in the
 *       middle of a transaction.</li>
 *   <li>{@link #acknowledge} tells the server nothing: a replica's progress does not hold binlogs back.</li>
 * </ul>
 */
public final class MySqlSource implements Source {
    private static final Logger LOG = LoggerFactory.getLogger(MySqlSource.class);
    /** The most events one poll returns (a rows event may add a few more). */
    static final int MAX_BATCH = 2048;
    /** About the most bytes of rows one snapshot batch holds: wide rows make short batches. */
    static final long MAX_BATCH_BYTES = 16L * 1024 * 1024;

    private final String pipelineName;
    private final MySqlSettings settings;
    private final Connections connections;
    private final Prerequisites prerequisites;

    private Connection catalogConnection;
    private Catalog catalog;
    private TableShapes shapes;
    private TableSnapshot snapshot;
    private BinlogReader reader;
    private ChangeDecoder decoder;
    private MySqlPosition reached;
    private volatile boolean stopping;

    MySqlSource(String pipelineName, MySqlSettings settings) {
        this.pipelineName = pipelineName;
        this.settings = settings;
        this.connections = new Connections(settings);
        this.prerequisites = new Prerequisites(settings);
    }

    @Override
    public SourceInfo info() {
        return new SourceInfo("mysql", pipelineName, settings.database());
    }

    @Override
    public List<Check> check() throws FerryException {
        try {
            ensureCatalog();
            return prerequisites.check(catalogConnection, catalog);
        } catch (SQLException e) {
            throw connections.classify(e);
        }
    }

    @Override
    public Map<String, String> status() throws FerryException {
        Map<String, String> out = new LinkedHashMap<>();
        try {
            ensureCatalog();
            out.put("server binlog position", serverPosition().display());
            try (Statement s = catalogConnection.createStatement(); ResultSet rs = s.executeQuery("SHOW BINARY LOGS")) {
                if (rs.next()) {
                    out.put("oldest binlog on the server", rs.getString(1));
                }
            }
            return out;
        } catch (SQLException e) {
            throw connections.classify(e);
        }
    }

    @Override
    public Position end() throws FerryException {
        try {
            ensureCatalog();
            return serverPosition();
        } catch (SQLException e) {
            throw connections.classify(e);
        }
    }

    @Override
    public void start(Optional<Position> resume, boolean startingOver) throws FerryException {
        try {
            ensureCatalog();
            prerequisites.requireForStart(catalogConnection);
            List<TableId> tables = catalog.tables(settings.database(), settings.tables());
            for (TableId named : settings.tables().names()) {
                if (!tables.contains(named)) {
                    throw FerryException.config("Table " + named + " (source.tables) does not exist in "
                            + settings.address() + ", or the user cannot see it.");
                }
            }
            shapes = new TableShapes(settings.database(), settings.tables(), catalog);
            if (resume.isPresent()) {
                MySqlPosition r = (MySqlPosition) resume.get();
                reached = r;
                startStreaming(MySqlPosition.at(r.file(), r.offset()), r);
                LOG.info("Resuming the binlog of {} after {}", settings.address(), r.display());
            } else if (settings.initialSnapshot()) {
                snapshot = new TableSnapshot(connections.open(), shapes, tables, settings.chunkRows());
                snapshot.begin(settings.address());
                LOG.info("Snapshot of {} tables started at binlog position {}", tables.size(), snapshot.end().display());
            } else {
                MySqlPosition now = serverPosition();
                reached = now;
                startStreaming(now, null);
                LOG.info("Streaming the binlog of {} from {} (snapshot: never)", settings.address(), now.display());
            }
        } catch (SQLException e) {
            throw connections.classify(e);
        }
    }

    private void startStreaming(MySqlPosition from, MySqlPosition resumeAfter) throws FerryException {
        decoder = new ChangeDecoder(shapes, from, resumeAfter);
        reader = new BinlogReader(settings, from.file(), from.offset());
        reader.connect();
    }

    @Override
    public SourceBatch poll(Duration maxWait) throws FerryException, InterruptedException {
        try {
            if (snapshot != null) {
                return pollSnapshot();
            }
            List<ChangeEvent> out = new ArrayList<>();
            long deadline = System.nanoTime() + maxWait.toNanos();
            // past its deadline a poll stops waiting, not reading: what the reader holds is taken (binlog
            // events that make no change, of tables not captured among them), a batch's worth at most
            int read = 0;
            while (out.size() < MAX_BATCH && !stopping) {
                long left = deadline - System.nanoTime();
                if (left <= 0 && read >= MAX_BATCH) {
                    break;
                }
                Event event = out.isEmpty() && left > 0 ? reader.next(Duration.ofNanos(left)) : reader.nextNow();
                if (event == null) {
                    break;
                }
                read++;
                decoder.decode(event, out);
            }
            MySqlPosition p = decoder.inTransaction()
                    ? (out.isEmpty() ? reached : (MySqlPosition) out.get(out.size() - 1).position())
                    : decoder.quiet();
            if (p.compareTo(reached) > 0) {
                reached = p;
            }
            return new SourceBatch(out, reached);
        } catch (SQLException e) {
            throw connections.classify(e);
        }
    }

    private SourceBatch pollSnapshot() throws SQLException, FerryException {
        List<ChangeEvent> events = snapshot.next(MAX_BATCH, MAX_BATCH_BYTES);
        if (!events.isEmpty()) {
            return new SourceBatch(events, events.get(events.size() - 1).position());
        }
        LOG.info("Snapshot finished: {} rows from {} tables", String.format("%,d", snapshot.rows()), snapshot.tableCount());
        MySqlPosition end = snapshot.end();
        snapshot.close();
        snapshot = null;
        reached = end;
        startStreaming(end, null);
        return new SourceBatch(List.of(), end);
    }

    @Override
    public boolean caughtUp(Position end) {
        return snapshot == null && decoder != null && !decoder.inTransaction() && decoder.quiet().compareTo(end) >= 0;
    }

    @Override
    public void acknowledge(Position durable) {
        // a replica's progress holds nothing back on the server: binlogs age out by retention alone
    }

    @Override
    public void stop() {
        stopping = true;
    }

    @Override
    public void close() {
        if (reader != null) {
            reader.close();
        }
        if (snapshot != null) {
            snapshot.close();
        }
        Connections.close(catalogConnection);
        reader = null;
        snapshot = null;
        decoder = null;
        catalogConnection = null;
        catalog = null;
        reached = null;
    }

    private void ensureCatalog() throws FerryException {
        if (catalogConnection == null) {
            catalogConnection = connections.open();
            catalog = new Catalog(catalogConnection);
        }
    }

    /** The end of the server's binlog now (SHOW MASTER STATUS, which needs REPLICATION CLIENT). */
    private MySqlPosition serverPosition() throws SQLException, FerryException {
        try (Statement s = catalogConnection.createStatement(); ResultSet rs = Connections.binlogStatus(s)) {
            if (!rs.next()) {
                throw new FerryException(ErrorKind.PREREQUISITE, "MySQL/MariaDB at " + settings.address() + " keeps no "
                        + "binlog (SHOW MASTER STATUS is empty). Add log_bin=mysql-bin, server_id=1 and binlog_format=ROW to "
                        + "the [mysqld] section of my.cnf and restart the server.");
            }
            return MySqlPosition.at(rs.getString(1), rs.getLong(2));
        }
    }
}
