package dev.ferry.sink.files;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.EnvelopeWriter;
import dev.ferry.event.Op;
import dev.ferry.log.DurableFiles;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The partitions of a JSONL output folder: events whose position names a partition (a batch run of
 * one window) go to {@code <schema>.<table>/<partition>/data.jsonl}, one file per table and window, in
 * event order, so the file's bytes do not depend on how delivery cut the events into batches. A
 * truncate event of the partition starts the file again: re-running a window replaces exactly its
 * partition. The envelopes' {@code ts_ms} is the event's commit time (the window's end), not the
 * time of writing, so an unchanged window gives a byte-identical file.
 *
 * <p>Exactly once: each batch appends to the files and makes them durable; the manifest then records
 * every partition file's length with the batch's offset (one write, the commit). After a crash, each
 * file is cut back to its recorded length and a file the manifest does not know is deleted, before
 * the batch comes again from the Log. While a window runs again its partition is being rewritten: a
 * reader that wants a complete window reads it after the run ended ({@code ferry run --once} exited 0).
 */
final class Partitions {
    private static final Logger LOG = LoggerFactory.getLogger(Partitions.class);
    static final String FILE = "data.jsonl";

    private final Path root;
    /** Each partition file (relative to the root, with /) → its committed length. */
    private final Map<String, Long> committed = new TreeMap<>();
    /** The lengths after the last {@link #write}, committed by the next manifest write. */
    private final Map<String, Long> written = new TreeMap<>();

    Partitions(Path root) {
        this.root = root;
    }

    /** Takes the lengths the manifest recorded ({@code "partitions"}, possibly absent). */
    void load(JsonNode recorded) {
        committed.clear();
        if (recorded != null) {
            recorded.fields().forEachRemaining(e -> committed.put(e.getKey(), e.getValue().asLong()));
        }
        written.clear();
        written.putAll(committed);
    }

    /** The lengths to record in the manifest with the batch just written. */
    Map<String, Long> lengths() {
        return Collections.unmodifiableMap(written);
    }

    /** The manifest recorded {@link #lengths()}. */
    void committed() {
        committed.clear();
        committed.putAll(written);
    }

    /** Cuts each partition file back to its committed length; deletes the ones no commit recorded. */
    void removeUncommitted() throws IOException {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (DirectoryStream<Path> tables = Files.newDirectoryStream(root, Files::isDirectory)) {
            for (Path table : tables) {
                try (DirectoryStream<Path> parts = Files.newDirectoryStream(table, p -> Files.isDirectory(p)
                        && p.getFileName().toString().contains("="))) {
                    for (Path part : parts) {
                        Path file = part.resolve(FILE);
                        if (!Files.exists(file)) {
                            continue;
                        }
                        Long length = committed.get(key(file));
                        if (length == null) {
                            Files.delete(file);
                            LOG.info("Removed {}: written by a batch that did not commit before the last stop", file);
                        } else if (Files.size(file) > length) {
                            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                                ch.truncate(length);
                                ch.force(true);
                            }
                            LOG.info("Cut {} back to its committed {} bytes", file, length);
                        }
                    }
                }
            }
        }
    }

    /**
     * Appends the partitioned events of one batch to their files, durably; the new lengths wait for
     * the manifest ({@link #lengths()}).
     *
     * @param events events whose position names a partition, in Log order
     */
    void write(List<ChangeEvent> events, EnvelopeWriter envelopes, JsonFactory json) throws IOException {
        Map<String, List<ChangeEvent>> byFile = new LinkedHashMap<>();
        for (ChangeEvent e : events) {
            String rel = JsonlSink.folderName(e.table()) + "/" + e.position().partition() + "/" + FILE;
            byFile.computeIfAbsent(rel, k -> new java.util.ArrayList<>()).add(e);
        }
        written.clear();
        written.putAll(committed);
        for (Map.Entry<String, List<ChangeEvent>> entry : byFile.entrySet()) {
            List<ChangeEvent> list = entry.getValue();
            long start = committed.getOrDefault(entry.getKey(), 0L);
            int from = 0;
            for (int i = 0; i < list.size(); i++) {
                if (list.get(i).op() == Op.TRUNCATE) {
                    // the partition starts again; the truncate itself is no line of it
                    start = 0;
                    from = i + 1;
                }
            }
            Path file = root.resolve(entry.getKey());
            if (!Files.isDirectory(file.getParent())) {
                Files.createDirectories(file.getParent());
                DurableFiles.syncFolder(file.getParent().getParent());
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ch.truncate(start);
                ch.position(start);
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                if (from < list.size()) {
                    try (JsonGenerator g = json.createGenerator(out)) {
                        g.setPrettyPrinter(new MinimalPrettyPrinter("\n"));
                        for (ChangeEvent e : list.subList(from, list.size())) {
                            envelopes.write(e, g, e.committedAt().toEpochMilli());
                        }
                        g.writeRaw('\n');
                    }
                }
                out.flush();
                ch.force(false);
                written.put(entry.getKey(), ch.size());
            }
            DurableFiles.syncFolder(file.getParent());
        }
    }

    private String key(Path file) {
        return root.relativize(file).toString().replace('\\', '/');
    }
}
