package dev.ferry.bench.debezium;

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Debezium's consumer in the benchmark: each data change of the captured tables as one line of one
 * file, the value Debezium's JSON converter made (the envelope without schemas), as a user of the
 * embedded engine writing JSONL would. Other records (the backlog's closing logical message, on its
 * own topic) are acknowledged and not written.
 *
 * <p>Durability as Ferry's JSONL sink has it: Ferry writes a batch (at most 1,000 events in the
 * benchmark) to files, fsyncs them and their folders, then commits its offset; here each batch the
 * engine hands over (at most {@code max.batch.size}, 2,048) is written, flushed and fsync'd before its
 * records are marked processed, so the offsets Debezium commits (every 10 s, and when it stops) never
 * run ahead of the file. Debezium itself fsyncs nothing: Kafka's {@code FileOffsetBackingStore} rewrites
 * its file in place, without an fsync. Called by the engine's one polling thread.
 */
final class JsonlWriter implements DebeziumBench.Consumer {
    private final Path file;
    private final FileChannel channel;
    private final Writer out;
    private final Set<String> topics;
    private final long expected;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private long written;
    private long firstNanos;
    private long doneNanos;

    JsonlWriter(Path file, Set<String> topics, long expected) throws IOException {
        this.file = file;
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        this.out = new BufferedWriter(Channels.newWriter(channel, StandardCharsets.UTF_8), 1 << 16);
        this.topics = topics;
        this.expected = expected;
    }

    @Override
    public void handleBatch(List<ChangeEvent<String, String>> records,
                            DebeziumEngine.RecordCommitter<ChangeEvent<String, String>> committer) throws InterruptedException {
        if (firstNanos == 0) {
            firstNanos = System.nanoTime();
        }
        try {
            for (ChangeEvent<String, String> r : records) {
                if (r.value() != null && topics.contains(r.destination())) {
                    out.write(r.value());
                    out.write('\n');
                    written++;
                }
            }
            out.flush();
            channel.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + file, e);
        }
        if (written >= expected && doneNanos == 0) {
            doneNanos = System.nanoTime();
        }
        for (ChangeEvent<String, String> r : records) {
            committer.markProcessed(r);
        }
        committer.markBatchFinished();
        if (doneNanos != 0) {
            done.complete(null);
        }
    }

    @Override
    public CompletableFuture<Void> done() {
        return done;
    }

    @Override
    public long written() {
        return written;
    }

    @Override
    public long firstNanos() {
        return firstNanos;
    }

    @Override
    public long doneNanos() {
        return doneNanos;
    }

    @Override
    public void close() throws IOException {
        try (channel) {
            out.flush();
        }
    }
}
