package dev.ferry.postgres;

import dev.ferry.error.FerryException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Queue;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads that read snapshot chunks, each on its own connection, so that reading and converting
 * rows overlap with the capture thread decoding the stream and appending to the Log. At most
 * {@code threads} connections are open; a connection that failed is closed and a new one opened for
 * the next chunk. Created lazily: a source that never snapshots in chunks opens nothing.
 */
final class ChunkReaders implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChunkReaders.class);

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

    private final int threads;
    private final Opener opener;
    private final Queue<Connection> idle = new ConcurrentLinkedQueue<>();
    private final Map<Connection, Catalog> open = new ConcurrentHashMap<>();
    private ExecutorService pool;

    ChunkReaders(int threads, Opener opener) {
        this.threads = threads;
        this.opener = opener;
    }

    /** Runs {@code work} on the next free reader; {@code failed} hears of an exception it threw. */
    void submit(Work work, Failed failed) {
        if (pool == null) {
            AtomicInteger n = new AtomicInteger();
            pool = Executors.newFixedThreadPool(threads, r -> {
                Thread t = new Thread(r, "ferry-snapshot-reader-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
        pool.execute(() -> {
            Connection c = idle.poll();
            try {
                if (c == null) {
                    c = opener.open();
                    open.put(c, new Catalog(c));
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

    /** Stops the readers and closes their connections; chunks being read are dropped (progress covers them). */
    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
            // a statement in progress does not notice the interrupt: closing its connection ends it
            open.keySet().forEach(PostgresConnections::close);
            try {
                if (!pool.awaitTermination(10, TimeUnit.SECONDS)) {
                    LOG.warn("A snapshot reader did not stop within 10 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        open.keySet().forEach(PostgresConnections::close);
        open.clear();
        idle.clear();
    }
}
