package dev.ferry.jdbc;

import dev.ferry.error.FerryException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;

/**
 * Connections beside the source's own, on which chunks are read at the same time, on the helper
 * threads the pipeline lends the source ({@code readers:}). A connection serves one chunk at a time
 * and goes back to the idle ones after it; as many are open as chunks were read at once (at most the
 * helper threads). A chunk that fails closes its connection: the next one opens a fresh one. Without
 * helper threads (a source used outside a pipeline) chunks are read on the caller's thread.
 */
final class Readers {
    /** The work of one chunk on a reader's connection, which it leaves with no transaction open. */
    interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private final Connections connections;
    private final Queue<Connection> idle = new ConcurrentLinkedQueue<>();
    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private volatile Executor helpers = Runnable::run;

    Readers(Connections connections) {
        this.connections = connections;
    }

    /** The pipeline's helper threads; before the first {@link #submit}. */
    void helpers(Executor helpers) {
        this.helpers = helpers;
    }

    /** Runs {@code work} on the next free helper thread; the future ends with its result or its exception. */
    <T> CompletableFuture<T> submit(Work<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        helpers.execute(() -> {
            Connection c = idle.poll();
            while (c != null && closed(c)) {
                c = idle.poll(); // closed by closeAll() while its chunk ended
            }
            try {
                if (c == null) {
                    c = connections.open();
                    open.add(c);
                }
                T value = work.run(c);
                idle.add(c);
                result.complete(value);
            } catch (SQLException | FerryException | RuntimeException | Error e) {
                // an Error too (out of memory while holding a chunk): the capture thread must not wait for ever
                discard(c);
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    private static boolean closed(Connection c) {
        try {
            return c.isClosed();
        } catch (SQLException e) {
            return true;
        }
    }

    private void discard(Connection c) {
        if (c != null) {
            open.remove(c);
            Connections.close(c);
        }
    }

    /** Closes every reader connection: a chunk being read fails with its connection, and nobody waits for it. */
    void closeAll() {
        open.forEach(this::discard);
        idle.clear();
    }
}
