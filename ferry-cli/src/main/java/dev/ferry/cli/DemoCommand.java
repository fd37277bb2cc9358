package dev.ferry.cli;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.PipelineConfig;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.pipeline.PipelineAssembly;
import dev.ferry.pipeline.PipelineStats;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry demo}: no setup at all. Starts a private PostgreSQL, creates a small shop, streams it
 * into JSONL files under {@code ./demo-out} while a workload writes, then checks the files against
 * the database and prints a summary.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start an embedded PostgreSQL with a shop workload and stream it into ./demo-out (about a minute).")
final class DemoCommand implements Callable<Integer> {
    private static final List<String> TABLES = List.of("public.customers", "public.products", "public.transactions");

    @Option(names = "--seconds", description = "how long the write workload runs (default: ${DEFAULT-VALUE})",
            defaultValue = "20")
    int seconds;

    @Option(names = "--out", description = "output folder (default: ${DEFAULT-VALUE}); emptied first",
            defaultValue = "demo-out")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintStream p = System.out;
        long t0 = System.nanoTime();
        p.println("Ferry demo: PostgreSQL change data capture into JSONL files.");
        p.println("1/5 Starting a private PostgreSQL (wal_level=logical) ...");
        try (TestingPostgres pg = TestingPostgres.start()) {
            p.printf("    PostgreSQL listening on %s:%d%n", pg.host(), pg.port());
            pg.createDatabase("shop");
            long seedChanges;
            try (Connection c = pg.connect("shop")) {
                ShopWorkload.createSchema(c);
                ShopWorkload seed = new ShopWorkload(c, 1);
                seed.seed(2_000, 200, 20_000);
                seedChanges = seed.changes();
            }
            p.printf("2/5 Created the shop: %,d rows in customers, products and transactions%n", seedChanges);

            deleteRecursively(out);
            Files.createDirectories(out);
            Path pipelineFile = out.resolve("pipeline.yaml");
            Files.writeString(pipelineFile, String.join("\n",
                    "name: demo",
                    "source:",
                    "  type: postgres",
                    "  host: " + pg.host(),
                    "  port: " + pg.port(),
                    "  database: shop",
                    "  user: " + pg.user(),
                    "  password: ${env:FERRY_DEMO_PASSWORD}",
                    "  tables: [public.customers, public.products, public.transactions]",
                    "sink:",
                    "  type: jsonl",
                    "  path: jsonl",
                    "state: state", ""));
            PipelineConfig config = ConfigLoader.load(pipelineFile,
                    name -> name.equals("FERRY_DEMO_PASSWORD") ? pg.password() : System.getenv(name));
            p.printf("3/5 Running pipeline %s (snapshot, then streaming from the WAL) into %s%n", pipelineFile,
                    out.resolve("jsonl"));
            try (PipelineAssembly assembly = PipelineAssembly.create(config)) {
                Pipeline pipeline = assembly.pipeline(RunCommand.MAX_BATCH_EVENTS);
                AtomicReference<Throwable> failed = new AtomicReference<>();
                Thread runner = new Thread(() -> {
                    try {
                        pipeline.run(Mode.STREAM);
                    } catch (Throwable e) {
                        failed.set(e);
                    }
                }, "ferry-demo-pipeline");
                runner.start();

                // the snapshot's rows reach the sink only once it is complete: then start writing
                long waitUntil = System.currentTimeMillis() + 60_000;
                while (pipeline.stats().sinks().get(0).delivered() < seedChanges && failed.get() == null
                        && System.currentTimeMillis() < waitUntil) {
                    Thread.sleep(50);
                }
                p.printf("    snapshot delivered: %,d rows%n", pipeline.stats().snapshotRows());
                p.printf("4/5 Writing to the shop for %d s while Ferry streams ...%n", seconds);
                List<Long> lags = new java.util.ArrayList<>();
                long workloadChanges = runWorkload(pg, pipeline, failed, p, lags);
                // let capture and delivery catch up: the Log stops growing and the sink has all of it
                long deadline = System.currentTimeMillis() + 30_000;
                long lastEnd = -1;
                long stableSince = System.currentTimeMillis();
                while (System.currentTimeMillis() < deadline && failed.get() == null) {
                    PipelineStats s = pipeline.stats();
                    if (s.logEnd() != lastEnd) {
                        lastEnd = s.logEnd();
                        stableSince = System.currentTimeMillis();
                    } else if (s.sinks().get(0).committedOffset() >= s.logEnd()
                            && System.currentTimeMillis() - stableSince >= 1500) {
                        break;
                    }
                    Thread.sleep(100);
                }
                pipeline.stop();
                runner.join();
                if (failed.get() != null) {
                    throw failed.get() instanceof Exception e ? e : new RuntimeException(failed.get());
                }
                PipelineStats s = pipeline.stats();
                p.println("5/5 Replay check: applying the JSONL events by primary key and comparing with the source ...");
                ReplayVerifier.Result result;
                try (Connection c = pg.connect("shop")) {
                    result = ReplayVerifier.verify(out.resolve("jsonl"), c, TABLES);
                }
                p.println("    " + result);
                double secs = (System.nanoTime() - t0) / 1e9;
                p.println();
                p.println("Summary");
                p.printf("  rows snapshotted     %,d%n", s.snapshotRows());
                p.printf("  changes streamed     %,d (the workload made %,d)%n", s.streamedChanges(), workloadChanges);
                if (!lags.isEmpty()) {
                    java.util.Collections.sort(lags);
                    p.printf("  lag while streaming  median %d ms, max %d ms (commit to file, sampled each second)%n",
                            lags.get(lags.size() / 2), lags.get(lags.size() - 1));
                }
                p.printf("  events delivered     %,d%n", s.sinks().get(0).delivered());
                p.printf("  output               %s (one folder per table, one JSON envelope per line)%n", out.resolve("jsonl"));
                p.printf("  total time           %.1f s%n", secs);
                sample(out.resolve("jsonl"), p);
                return result.ok() ? 0 : 1;
            }
        }
    }

    private long runWorkload(TestingPostgres pg, Pipeline pipeline, AtomicReference<Throwable> failed, PrintStream p,
                             List<Long> lags) throws Exception {
        try (Connection c = pg.connect("shop")) {
            ShopWorkload w = new ShopWorkload(c, 42);
            long end = System.currentTimeMillis() + seconds * 1000L;
            long nextReport = System.currentTimeMillis() + 1000;
            while (System.currentTimeMillis() < end && failed.get() == null) {
                w.run(10);
                Thread.sleep(20); // a steady trickle, about 300 transactions a second
                if (System.currentTimeMillis() >= nextReport) {
                    PipelineStats s = pipeline.stats();
                    if (s.sinks().get(0).lagMillis() >= 0) {
                        lags.add(s.sinks().get(0).lagMillis());
                    }
                    p.printf("    snapshot %,8d rows | streamed %,7d changes | delivered %,8d events | lag %s%n",
                            s.snapshotRows(), s.streamedChanges(), s.sinks().get(0).delivered(), lag(s));
                    nextReport += 1000;
                }
            }
            return w.changes();
        }
    }

    private static String lag(PipelineStats s) {
        long lag = s.sinks().get(0).lagMillis();
        return lag < 0 ? "-" : lag + " ms";
    }

    private static void sample(Path root, PrintStream p) throws IOException {
        Path dir = root.resolve("public.transactions");
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> files = Files.list(dir)) {
            Path last = files.max(Comparator.naturalOrder()).orElse(null);
            if (last != null) {
                List<String> lines = Files.readAllLines(last);
                if (!lines.isEmpty()) {
                    p.println("  a change event      " + lines.get(lines.size() - 1));
                }
            }
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path f : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }

}
