package dev.ferry.postgres;

import dev.ferry.error.FerryException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;

/**
 * Reads snapshot chunks on the helper threads the pipeline lends the source, each chunk on a
 * connection of its own, so that reading and converting rows overlap with the capture thread
 * decoding the stream and appending to the Log. As many connections are open as chunks were read
 * at once (at most the helper threads); a connection that failed is closed and a new one opened for
 * the next chunk. Without helper threads (a source used outside a pipeline), chunks are read on the
 * caller's thread.
 */
final class ChunkReaders implements AutoCloseable {
    /** Opens a regular connection with Ferry's session settings. */
    interface Opener {
        Connection open() throws FerryException;
    }

    /** The work of one chunk on a reader's connection, with a catalog read through it. */
    interface Work {
        void run(Connection connection, Catalog catalog) throws SQLException;
    }

    /** Told on the reader's thread when a chunk's work failed; the connection is closed if it broke. */
    interface Failed {
        void failed(Exception e);
    }

    private final Opener opener;
    private final Queue<Connection> idle = new ConcurrentLinkedQueue<>();
    private final Map<Connection, Catalog> open = new ConcurrentHashMap<>();
    private volatile Executor helpers = Runnable::run;
    private volatile boolean threaded;
    private volatile boolean closed;

    ChunkReaders(Opener opener) {
        this.opener = opener;
    }

    /** The pipeline's helper threads; called before the first {@link #submit}. */
    void helpers(Executor helpers) {
        this.helpers = helpers;
        this.threaded = true;
    }

    /** Whether work runs on helper threads (else on the caller's). */
    boolean threaded() {
        return threaded;
    }

    /** Runs {@code work} on the next free helper thread; {@code failed} hears of an exception it threw. */
    void submit(Work work, Failed failed) {
        helpers.execute(() -> {
            if (closed) {
                return; // queued before the source closed: nobody waits for it any more
            }
            Connection c = idle.poll();
            try {
                if (c == null) {
                    c = opener.open();
                    open.put(c, new Catalog(c));
                    if (closed) {
                        discard(c);
                        return;
                    }
                    try (Statement s = c.createStatement()) {
                        // a watermark reaches the decoder when its commit is flushed: at once, not at the
                        // WAL writer's next round (up to wal_writer_delay) on a server with it off
                        s.execute("SET synchronous_commit = on");
                    }
                }
                work.run(c, open.get(c));
                idle.add(c);
            } catch (SQLException e) {
                if (c != null && broken(c)) {
                    discard(c);
                } else if (c != null) {
                    idle.add(c);
                }
                failed.failed(e);
            } catch (FerryException | RuntimeException e) {
                if (c != null) {
                    discard(c);
                }
                failed.failed(e);
            }
        });
    }

    private static boolean broken(Connection c) {
        try {
            return c.isClosed() || !c.isValid(2);
        } catch (SQLException e) {
            return true;
        }
    }

    private void discard(Connection c) {
        open.remove(c);
        PostgresConnections.close(c);
    }

    /** Whether {@link #close()} was called: long work ends. */
    boolean closed() {
        return closed;
    }

    /**
     * Closes the readers' connections: a chunk being read fails (its statement ends with its
     * connection) and is dropped; the progress covers it. The threads are the pipeline's.
     */
    @Override
    public void close() {
        closed = true;
        open.keySet().forEach(PostgresConnections::close);
        open.clear();
        idle.clear();
    }
}
