package dev.ferry.sink.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.sink.Sink;
import dev.ferry.source.Source;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The warehouse stopped for a while under a streaming pipeline while the source keeps changing, then
 * started again: the sink retries, catches up, and the mirrors equal the source with every change
 * once in the history. Source and warehouse are two private servers.
 */
class TargetOutageIT {
    @TempDir
    Path state;

    @Test
    void warehouseDownForAWhileThenBackLosesNothing() throws Exception {
        try (TestingPostgres source = TestingPostgres.start(); TestingPostgres target = TestingPostgres.start()) {
            source.createDatabase("shop");
            target.createDatabase("warehouse");
            try (Connection c = source.connect("shop")) {
                ShopWorkload.createSchema(c);
                new ShopWorkload(c, 1).seed(200, 20, 2_000);
            }
            long events; // in the Log: the snapshot's rows and the changes streamed after it
            Warehouse w = new Warehouse(source, "shop", target, "warehouse", "shop", state);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            try (Source src = w.source(); FileLog log = w.log(); Sink sink = w.sink();
                 Connection c = source.connect("shop")) {
                Pipeline p = w.pipeline(src, log, sink, 200);
                Thread runner = new Thread(() -> {
                    try {
                        p.run(Mode.STREAM);
                    } catch (Throwable t) {
                        failure.set(t);
                    }
                }, "pipeline");
                runner.start();
                ShopWorkload work = new ShopWorkload(c, 2);
                work.run(200);
                awaitDelivered(p, failure);

                target.stopKeepingData();
                work.run(400); // the sink fails to write these and retries
                Thread.sleep(3_000);
                assertThat(p.stats().sinks().get(0).committedOffset()).isLessThan(p.stats().logEnd());
                target.startAgain();
                work.run(200);
                w.awaitMirrorsEqual(120_000, "customers", "products", "transactions"); // the stream catches up
                awaitDelivered(p, failure);
                p.stop();
                runner.join(60_000);
                assertThat(failure.get()).isNull();
                events = p.stats().logEnd();
            }
            // every event of the Log once in the history: none lost to the outage, none written twice
            String positions = "SELECT _ferry_position FROM shop.customers_history UNION ALL SELECT _ferry_position FROM "
                    + "shop.products_history UNION ALL SELECT _ferry_position FROM shop.transactions_history";
            assertThat(w.query("SELECT count(*) || ' ' || count(DISTINCT _ferry_position) FROM (" + positions + ") h"))
                    .isEqualTo(events + " " + events);
        }
    }

    /** Waits (at most two minutes) until the sink has committed everything the Log holds. */
    private static void awaitDelivered(Pipeline p, AtomicReference<Throwable> failure) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        Thread.sleep(500); // the capture of the last changes
        while (System.nanoTime() < deadline && failure.get() == null) {
            var stats = p.stats();
            if (stats.sinks().get(0).committedOffset() >= stats.logEnd() && stats.logEnd() > 0) {
                return;
            }
            Thread.sleep(100);
        }
        assertThat(failure.get()).isNull();
        throw new AssertionError("the sink did not catch up: " + p.stats());
    }
}
