package dev.ferry.cli;

import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.sql.Connection;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link ShopWorkload} in a thread of its own beside a crash test: batches of 20 changes, quickly
 * until {@code minChanges}, then an idle trickle until {@link #finish()}.
 */
final class BackgroundWorkload {
    private final AtomicLong changes = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicBoolean keepWriting = new AtomicBoolean(true);
    private final Thread thread;

    private BackgroundWorkload(TestingPostgres pg, String db, long seed, long minChanges) {
        thread = new Thread(() -> {
            try (Connection c = pg.connect(db)) {
                ShopWorkload w = new ShopWorkload(c, seed);
                while (w.changes() < minChanges || keepWriting.get()) {
                    w.run(20);
                    changes.set(w.changes());
                    Thread.sleep(w.changes() >= minChanges ? 50 : 5);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "workload");
    }

    static BackgroundWorkload start(TestingPostgres pg, String db, long seed, long minChanges) {
        BackgroundWorkload w = new BackgroundWorkload(pg, db, seed, minChanges);
        w.thread.start();
        return w;
    }

    /** Rows changed so far. */
    long changes() {
        return changes.get();
    }

    /** Fails the test if the workload failed. */
    void requireHealthy() {
        if (failure.get() != null) {
            throw new AssertionError("the workload failed", failure.get());
        }
    }

    /** Stops writing once {@code minChanges} are done, waits for it, and fails the test if it failed. */
    void finish() throws InterruptedException {
        keepWriting.set(false);
        thread.join();
        requireHealthy();
    }
}
