package dev.ferry.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.ferry.config.ComponentConfig;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.sink.duckdb.DuckDbSinkFactory;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The DuckDB sink alone, without capture or the Log: CPU time per event of {@code DuckDbSink.write}
 * for a snapshot of the sink benchmark's {@code orders} table and a stream of the CDC benchmark's mix
 * ({@link CdcBench#backlog}: inserts of new orders, inserts of ticks, updates of the new orders,
 * deletes of the ticks), in batches as {@code ferry run} makes them. The events are made before the
 * clock starts, so the process's CPU time is the sink's (and DuckDB's threads'). Less sensitive to a
 * busy machine than {@link SinkBench}, whose runs share two cores with capture.
 *
 * <p>Usage: {@code java -cp ferry-bench/target/benchmarks.jar dev.ferry.bench.DuckDbSinkProbe [--rows N]
 * [--changes N] [--batch N] [--history] [--dir DIR]} (DIR defaults to /dev/shm, a tmpfs, to leave the
 * disk out).
 */
public final class DuckDbSinkProbe {
    private static final TableSchema ORDERS = new TableSchema(new TableId("public", "orders"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("customer", LogicalType.INT32, "integer", false),
            Column.of("amount", LogicalType.DECIMAL, "numeric(12,2)", false),
            Column.of("status", LogicalType.STRING, "text", false),
            Column.of("note", LogicalType.STRING, "text", false),
            Column.of("created_at", LogicalType.TIMESTAMPTZ, "timestamp with time zone", false),
            Column.of("attrs", LogicalType.JSON, "jsonb", false)));
    private static final TableSchema TICKS = new TableSchema(new TableId("public", "ticks"), List.of(
            Column.of("id", LogicalType.INT64, "bigint", true),
            Column.of("v", LogicalType.INT32, "integer", false)));
    private static final String[] STATUS = {"new", "paid", "shipped"};
    private static final Instant BASE_TIME = Instant.parse("2026-01-01T00:00:00Z");

    private DuckDbSinkProbe() {
    }

    public static void main(String[] args) throws Exception {
        int rows = 200_000;
        int changes = 200_000;
        int batch = CdcBench.FERRY_RUN_BATCH_EVENTS;
        boolean history = false;
        Path dir = Path.of("/dev/shm");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rows" -> rows = Integer.parseInt(args[++i]);
                case "--changes" -> changes = Integer.parseInt(args[++i]);
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--history" -> history = true;
                case "--dir" -> dir = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path work = Files.createTempDirectory(dir, "ferry-duckdb-probe-");
        try {
            List<ChangeEvent> snapshot = new ArrayList<>(rows);
            for (long g = 1; g <= rows; g++) {
                snapshot.add(event(Op.READ, ORDERS, null, order(g, false), g));
            }
            List<ChangeEvent> stream = stream(rows, changes);
            ComponentConfig config = ComponentConfig.ofYaml("sink", "type: duckdb\npath: '" + work.resolve("probe.duckdb")
                    + "'\nhistory: " + history + "\n");
            Sink sink = new DuckDbSinkFactory().create("probe", config, null);
            try {
                sink.committed();
                long offset = measure("snapshot", sink, snapshot, batch, -1);
                long streamCpu = cpuNanos();
                long streamStart = System.nanoTime();
                // the backlog's four parts, each measured alone (a batch of ferry run may span two)
                int inserts = changes * 3 / 10;
                int large = changes / 5;
                int[] ends = {inserts, inserts + large, 2 * inserts + large, stream.size()};
                String[] parts = {"stream: inserts of orders", "stream: inserts of ticks", "stream: updates of orders",
                    "stream: deletes of ticks"};
                for (int p = 0, from = 0; p < ends.length; from = ends[p++]) {
                    offset = measure(parts[p], sink, stream.subList(from, ends[p]), batch, offset);
                }
                print("stream", stream.size(), (System.nanoTime() - streamStart) / 1e9, (cpuNanos() - streamCpu) / 1e9);
            } finally {
                // closing the file checkpoints it: DuckDB folds its write-ahead log into the file
                long closeCpu = cpuNanos();
                long closeStart = System.nanoTime();
                sink.close();
                System.out.printf(Locale.ROOT, "close: %.2f s wall, %.2f CPU s%n", (System.nanoTime() - closeStart) / 1e9,
                        (cpuNanos() - closeCpu) / 1e9);
            }
        } finally {
            Workload.delete(work);
        }
    }

    /** Writes the events in batches; prints wall and CPU time; returns the last offset written. */
    private static long measure(String phase, Sink sink, List<ChangeEvent> events, int batch, long offset) throws Exception {
        long cpu = cpuNanos();
        long start = System.nanoTime();
        for (int from = 0; from < events.size(); from += batch) {
            List<ChangeEvent> part = events.subList(from, Math.min(events.size(), from + batch));
            offset += part.size();
            sink.write(part, Offset.of(offset));
        }
        print(phase, events.size(), (System.nanoTime() - start) / 1e9, (cpuNanos() - cpu) / 1e9);
        return offset;
    }

    private static void print(String phase, int events, double seconds, double cpuSeconds) {
        System.out.printf(Locale.ROOT, "%s: %,d events in %.2f s wall (%,.0f events/s), %.2f CPU s, %.2f µs CPU per event%n",
                phase, events, seconds, events / seconds, cpuSeconds, cpuSeconds * 1e6 / events);
    }

    private static long cpuNanos() {
        return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** The backlog's mix, in its order: 30% inserts of orders, 20% of ticks, 30% updates of the new orders, 20% deletes. */
    private static List<ChangeEvent> stream(long base, int changes) {
        long inserts = changes * 3L / 10;
        long large = changes / 5L;
        List<ChangeEvent> out = new ArrayList<>(changes);
        long position = base;
        for (long g = base + 1; g <= base + inserts; g++) {
            out.add(event(Op.CREATE, ORDERS, null, order(g, false), ++position));
        }
        for (long g = base + 1; g <= base + large; g++) {
            out.add(event(Op.CREATE, TICKS, null, Row.wrap(g, g % 1000), ++position));
        }
        for (long g = base + 1; g <= base + inserts; g++) {
            out.add(event(Op.UPDATE, ORDERS, null, order(g, true), ++position));
        }
        for (long g = base + 1; g <= base + large; g++) {
            out.add(event(Op.DELETE, TICKS, Row.wrap(g, null), null, ++position));
        }
        return out;
    }

    /** A row of orders as the benchmark's SQL makes it, and as {@code UPDATE … SET status = 'refunded'} leaves it. */
    private static Row order(long g, boolean updated) {
        long cents = g % 100000 + (updated ? 100 : 0);
        String amount = cents / 100 + "." + String.format(Locale.ROOT, "%02d", cents % 100);
        String note = Long.toHexString(g * 0x9E3779B97F4A7C15L) + Long.toHexString(g * 31) + "0123456789abcdef0123456789abcdef";
        return Row.wrap(g, g % 5000, amount, updated ? "refunded" : STATUS[(int) (g % 3)], updated ? note + "!" : note,
                BASE_TIME.plusSeconds(g).toString(), "{\"k\": " + g % 17 + ", \"tag\": \"x" + g % 9 + "\"}");
    }

    private static ChangeEvent event(Op op, TableSchema schema, Row before, Row after, long position) {
        return new ChangeEvent(op, schema, before, after, Set.of(), new BenchPosition(position), position, BASE_TIME);
    }
}
