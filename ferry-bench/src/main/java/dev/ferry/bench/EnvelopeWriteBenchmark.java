package dev.ferry.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.EnvelopeWriter;
import dev.ferry.postgres.CapturedChanges;
import dev.ferry.source.SourceInfo;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
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

/**
 * The event encoder on real changes: the JSON envelope (what the JSONL and Kafka sinks write) of
 * every change of {@link CapturedChanges#SHOP}, decoded once at setup as the stream decodes them, one
 * envelope per line into a reused buffer, as the JSONL sink writes a batch.
 *
 * <p><b>Measured:</b> time per pass over the capture's 10,000 changes ({@code envelopes}), and the
 * same with the rows made anew from the messages in each pass ({@code decodeAndEnvelopes}): a row's
 * values are then read for the first time by the writer, as in a sink reading rows from the Log.
 * One thread; run by {@code ferry-bench/run-codec-bench.sh}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class EnvelopeWriteBenchmark {
    private static final JsonFactory JSON = new JsonFactory();
    private final EnvelopeWriter writer = new EnvelopeWriter(new SourceInfo("postgres", "bench", "shop"));
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 22);
    private CapturedChanges capture;
    private List<ChangeEvent> events;

    @Setup
    public void load() throws IOException {
        capture = CapturedChanges.load(CapturedChanges.SHOP);
        events = capture.events();
        for (ChangeEvent e : events) {
            for (var row : new dev.ferry.event.Row[] {e.before(), e.after()}) {
                if (row != null && row.size() > 0) {
                    row.get(0); // decoded now, once: this benchmark measures the writer
                }
            }
        }
    }

    @Benchmark
    public int envelopes() throws IOException {
        return write(events);
    }

    @Benchmark
    public int decodeAndEnvelopes() throws IOException {
        return write(capture.events());
    }

    private int write(List<ChangeEvent> batch) throws IOException {
        out.reset();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            for (ChangeEvent e : batch) {
                writer.write(e, g, 0);
                g.writeRaw('\n');
            }
        }
        return out.size();
    }
}
