package dev.ferry.mysql;

import com.github.shyiko.mysql.binlog.BinaryLogClient;
import com.github.shyiko.mysql.binlog.event.Event;
import com.github.shyiko.mysql.binlog.network.ServerException;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The binlog connection: mysql-binlog-connector-java's client, read as a replica from a file and
 * offset. The client reads on its own thread (the library's, the one exception to "sources start no
 * threads"); it hands events to the capture thread through a bounded queue and blocks while the queue
 * is full, so memory stays bounded and a slow pipeline slows the reading, never the server. {@link #close}
 * ends that thread.
 */
final class BinlogReader implements AutoCloseable {
    static final int QUEUE_EVENTS = 1024;
    private static final long CONNECT_MILLIS = 15_000;
    private static final long HEARTBEAT_MILLIS = 5_000;
    /**
     * The library logs through java.util.logging, a line per connection at INFO; Ferry logs its own
     * connection changes. Held here so the configured logger is not collected.
     */
    private static final java.util.logging.Logger LIBRARY_LOG = java.util.logging.Logger.getLogger("com.github.shyiko.mysql.binlog");

    static {
        LIBRARY_LOG.setLevel(java.util.logging.Level.WARNING);
    }

    private final MySqlSettings settings;
    private final BlockingQueue<Event> queue = new ArrayBlockingQueue<>(QUEUE_EVENTS);
    private final BinaryLogClient client;
    private volatile boolean closed;
    private volatile Exception failure;
    private volatile boolean disconnected;
    /** When the client last received anything (an event, or the server's heartbeat when idle). */
    private volatile long lastReceivedNanos = System.nanoTime();

    BinlogReader(MySqlSettings settings, String file, long offset) {
        this.settings = settings;
        client = new BinaryLogClient(settings.host(), settings.port(), settings.user(),
                settings.password() == null ? "" : settings.password());
        client.setServerId(settings.serverId());
        client.setBinlogFilename(file);
        client.setBinlogPosition(offset);
        client.setKeepAlive(false); // the pipeline reconnects, resuming after what its Log holds
        client.setHeartbeatInterval(HEARTBEAT_MILLIS);
        client.setEventDeserializer(ExactRows.deserializer());
        client.setThreadFactory(r -> {
            Thread t = new Thread(r, "ferry-binlog-reader");
            t.setDaemon(true);
            return t;
        });
        client.registerEventListener(event -> {
            lastReceivedNanos = System.nanoTime();
            try {
                while (!closed && !queue.offer(event, 100, TimeUnit.MILLISECONDS)) {
                    // backpressure: the capture thread has not taken the events yet
                }
            } catch (InterruptedException e) {
                // the event is not queued: fail the connection, so the pipeline reconnects and reads it again
                failure = new IOException("the binlog reader was interrupted while handing over an event", e);
                Thread.currentThread().interrupt();
                try {
                    client.disconnect();
                } catch (IOException ignored) {
                    // already failing
                }
            }
        });
        client.registerLifecycleListener(new BinaryLogClient.AbstractLifecycleListener() {
            @Override
            public void onCommunicationFailure(BinaryLogClient c, Exception ex) {
                failure = ex;
            }

            @Override
            public void onEventDeserializationFailure(BinaryLogClient c, Exception ex) {
                failure = ex;
                try {
                    c.disconnect();
                } catch (IOException ignored) {
                    // already failing
                }
            }

            @Override
            public void onDisconnect(BinaryLogClient c) {
                disconnected = true;
            }
        });
    }

    /** Connects and starts reading; returns once the server accepted the dump request. */
    void connect() throws FerryException {
        try {
            client.connect(CONNECT_MILLIS);
        } catch (IOException e) {
            throw classify(e);
        } catch (TimeoutException e) {
            throw new FerryException(ErrorKind.CONNECTIVITY, "The binlog connection to " + where() + " did not open within "
                    + CONNECT_MILLIS / 1000 + " s.", e);
        }
        if (failure != null) {
            throw classify(failure);
        }
        lastReceivedNanos = System.nanoTime();
    }

    /** The next event, or null when none arrived within {@code wait}. */
    Event next(Duration wait) throws FerryException, InterruptedException {
        Event e = queue.poll(wait.toNanos(), TimeUnit.NANOSECONDS);
        if (e == null && (failure != null || disconnected) && queue.isEmpty()) {
            throw failure != null ? classify(failure) : new FerryException(ErrorKind.CONNECTIVITY,
                    "The binlog connection to " + where() + " was closed by the server.");
        }
        if (e == null && queue.isEmpty()
                && System.nanoTime() - lastReceivedNanos > TimeUnit.MILLISECONDS.toNanos(3L * HEARTBEAT_MILLIS)) {
            // the server sends a heartbeat when it has nothing else: silence means a connection that died
            // without a word (a half-open TCP connection, a network cut), which no read would ever report
            throw new FerryException(ErrorKind.CONNECTIVITY, "The binlog connection to " + where() + " sent nothing, "
                    + "not even a heartbeat, for " + 3 * HEARTBEAT_MILLIS / 1000 + " s; it is taken for dead.");
        }
        return e;
    }

    /** The next event if one is waiting, else null. */
    Event nextNow() {
        return queue.poll();
    }

    private String where() {
        return "MySQL/MariaDB at " + settings.host() + ":" + settings.port();
    }

    private FerryException classify(Exception e) {
        if (e instanceof ServerException s) {
            int code = s.getErrorCode();
            String text = String.valueOf(s.getMessage());
            if (text.contains("server_id") || text.contains("server_uuid")) {
                // MySQL reports a duplicate server id with code 1236 too: not a purged binlog
                return new FerryException(ErrorKind.PREREQUISITE, where() + " refused the binlog connection: "
                        + s.getMessage() + ". Set source.server_id to a number no other replica of this server uses.", e);
            }
            if (code == 1236 && !text.contains("purged") && !text.contains("Could not find first log file")) {
                return new FerryException(ErrorKind.PREREQUISITE, where() + " cannot send the binlog from Ferry's "
                        + "position: " + s.getMessage() + ". The position Ferry holds is not in the server's binlog (a "
                        + "server that crashed with sync_binlog other than 1 can lose binlog it had already sent). "
                        + "Changes past it cannot be read again: start over with a fresh snapshot (delete the "
                        + "pipeline's state folder and the sink output, and run again).", e);
            }
            if (code == 1236) {
                return new FerryException(ErrorKind.PREREQUISITE, where() + " cannot send the binlog from Ferry's position: "
                        + s.getMessage() + ". The binlog files Ferry needs were purged (binlog_expire_logs_seconds, "
                        + "expire_logs_days, PURGE BINARY LOGS) while the pipeline was stopped; the changes since cannot "
                        + "be read again. Start over with a fresh snapshot: delete the pipeline's state folder and the sink "
                        + "output, and run again; keep binlogs longer than the longest pause.", e);
            }
            if (code == 1045) {
                return new FerryException(ErrorKind.CONFIG, where() + " refused user " + settings.user()
                        + " on the binlog connection: " + s.getMessage() + ". Check source.user and source.password.", e);
            }
            if (code == 1227 || code == 1044) {
                return new FerryException(ErrorKind.PREREQUISITE, where() + " refused the binlog to user " + settings.user()
                        + ": " + s.getMessage() + ". Grant it: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '"
                        + settings.user() + "'@'%';", e);
            }
            if (s.getMessage() != null && s.getMessage().contains("server_id")) {
                return new FerryException(ErrorKind.PREREQUISITE, where() + " refused the binlog connection: "
                        + s.getMessage() + ". Set source.server_id to a number no other replica of this server uses.", e);
            }
            return new FerryException(ErrorKind.CONNECTIVITY, where() + " ended the binlog connection: " + s.getMessage()
                    + " (error " + code + ").", e);
        }
        if (e instanceof com.github.shyiko.mysql.binlog.event.deserialization.EventDataDeserializationException) {
            // an IOException too, but the bytes arrived: one that cannot be decoded fails the same way after
            // every reconnect, so retrying would hide it forever
            return new FerryException(ErrorKind.INTERNAL, "Cannot decode the binlog of " + where() + ": " + e
                    + ". Ferry stopped rather than guess; please report this with the table's definition.", e);
        }
        if (e instanceof IOException) {
            return new FerryException(ErrorKind.CONNECTIVITY, "Lost the binlog connection to " + where() + ": " + e, e);
        }
        return new FerryException(ErrorKind.INTERNAL, "Cannot decode the binlog of " + where() + ": " + e
                + ". Ferry stopped rather than guess; run again to resume from the last position in its Log.", e);
    }

    /** Ends the client's thread and the connection; events still queued are dropped. Idempotent. */
    @Override
    public void close() {
        closed = true;
        queue.clear();
        try {
            client.disconnect();
        } catch (IOException ignored) {
            // the connection is going away anyway
        }
    }
}
