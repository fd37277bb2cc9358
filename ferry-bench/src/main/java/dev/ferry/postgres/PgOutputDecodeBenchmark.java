package dev.ferry.postgres;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Row;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The stream's decoder on real bytes: the messages of {@link CapturedChanges#SHOP} (10,000 changes
 * of the CDC benchmark's mix, captured from PostgreSQL), decoded as {@code ChangeStream} decodes them.
 *
 * <p><b>Measured</b> (time per pass over the whole capture; divide the capture's changes by it for
 * changes per second):
 * <ul>
 *   <li>{@code messages}: {@code PgOutputDecoder.decode} of every message: the protocol alone;</li>
 *   <li>{@code events}: messages into change events with their rows in Ferry's representation
 *       ({@code RelationSchemas.row}, {@code TextValues}), what capture hands the Log;</li>
 *   <li>{@code eventsRead}: the same, then every value of every row asked for, as a sink that looks
 *       at all of them (rows made in the Log's encoding decode on demand).</li>
 * </ul>
 * One thread; run by {@code ferry-bench/run-codec-bench.sh}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class PgOutputDecodeBenchmark {
    private CapturedChanges capture;

    @Setup
    public void load() throws IOException {
        capture = CapturedChanges.load(CapturedChanges.SHOP);
    }

    @Benchmark
    public int messages(Blackhole bh) {
        return capture.decodeMessages(bh::consume);
    }

    @Benchmark
    public Object events() {
        return capture.events();
    }

    @Benchmark
    public void eventsRead(Blackhole bh) {
        for (ChangeEvent e : capture.events()) {
            read(e.before(), bh);
            read(e.after(), bh);
        }
    }

    private static void read(Row row, Blackhole bh) {
        if (row != null) {
            for (int i = 0; i < row.size(); i++) {
                bh.consume(row.get(i));
            }
        }
    }
}
