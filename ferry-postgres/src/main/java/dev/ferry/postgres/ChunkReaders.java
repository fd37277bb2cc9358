package dev.ferry.postgres;

import dev.ferry.error.FerryException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;

/**
 * Reads snapshot chunks on the helper threads the pipeline lends the source, each chunk in a
 * session of its own (a connection to the source, and one to the standby chunks are read from, if
 * any), so that reading and converting rows overlap with the capture thread decoding the stream and
 * appending to the Log. As many sessions are open as chunks were read at once (at most the helper
 * threads); a session whose connection failed is closed and a new one opened for the next chunk.
 * Without helper threads (a source used outside a pipeline), chunks are read on the caller's thread.
 */
final class ChunkReaders implements AutoCloseable {
    /** Opens a regular connection with Ferry's session settings. */
    interface Opener {
        Connection open() throws FerryException;
    }

    /**
     * A reader's connections: {@code source} for watermarks and the catalog, {@code read} for the
     * rows (the standby's, or the same as {@code source}).
     */
    record Session(Connection source, Connection read, Catalog catalog) {
    }

    /** The work of one chunk in a reader's session. */
    interface Work {
        void run(Session session) throws SQLException;
    }

    /** Told on the reader's thread when a chunk's work failed; the connection is closed if it broke. */
    interface Failed {
        void failed(Throwable e);
    }

    private final Opener opener;
    private final Opener replicaOpener;
    private final Queue<Session> idle = new ConcurrentLinkedQueue<>();
    private final Set<Session> open = ConcurrentHashMap.newKeySet();
    private volatile Executor helpers = Runnable::run;
    private volatile boolean threaded;
    private volatile boolean closed;

    /** Sessions from {@code opener}, and from {@code replicaOpener} for the rows when not null. */
    ChunkReaders(Opener opener, Opener replicaOpener) {
        this.opener = opener;
        this.replicaOpener = replicaOpener;
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
            Session session = idle.poll();
            try {
                if (session == null) {
                    session = openSession();
                    if (session == null) {
                        return;
                    }
                }
                work.run(session);
                idle.add(session);
            } catch (SQLException e) {
                if (session != null && (broken(session.source()) || broken(session.read()))) {
                    discard(session);
                } else if (session != null) {
                    idle.add(session);
                }
                failed.failed(e);
            } catch (FerryException | RuntimeException | Error e) {
                // an Error too (out of memory while holding a chunk): the chunk must not stay in flight
                if (session != null) {
                    discard(session);
                }
                failed.failed(e);
            }
        });
    }

    /** A new session, or null when the readers closed meanwhile. */
    private Session openSession() throws FerryException, SQLException {
        Connection source = opener.open();
        Connection read = source;
        try {
            if (replicaOpener != null) {
                read = replicaOpener.open();
            }
            try (Statement s = source.createStatement()) {
                // a watermark reaches the decoder when its commit is flushed: at once, not at the
                // WAL writer's next round (up to wal_writer_delay) on a server with it off
                s.execute("SET synchronous_commit = on");
            }
        } catch (FerryException | SQLException | RuntimeException e) {
            PostgresConnections.close(source);
            PostgresConnections.close(read);
            throw e;
        }
        Session session = new Session(source, read, new Catalog(source));
        open.add(session);
        if (closed) {
            discard(session);
            return null;
        }
        return session;
    }

    private static boolean broken(Connection c) {
        try {
            return c.isClosed() || !c.isValid(2);
        } catch (SQLException e) {
            return true;
        }
    }

    private void discard(Session session) {
        open.remove(session);
        PostgresConnections.close(session.source());
        PostgresConnections.close(session.read());
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
        open.forEach(this::discard);
        idle.clear();
    }
}
