package dev.ferry.sink.files;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.EnvelopeWriter;
import dev.ferry.event.TableId;
import dev.ferry.log.CrashPoints;
import dev.ferry.log.DurableFiles;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes change events as JSON lines: one folder per table ({@code <path>/<schema>.<table>/}), one
 * file per delivered batch named by the batch's last Log offset (20 digits, so names sort in Log
 * order), one envelope per line.
 *
 * <p>Exactly once: each batch's files are written as {@code .tmp}, fsync'd and renamed into place;
 * then the manifest {@code <path>/_ferry/offset.json} (an {@link OffsetManifest}: two slots written in
 * turn, {@code offset.json.a} and {@code .b}) takes the batch's offset, and that write is the
 * commit. A crash between the two leaves files newer than the manifest; they are deleted before this
 * sink's first write (they come again from the Log), so the folder ends with every event exactly once.
 * Reading the committed offset deletes nothing: {@code ferry status} does it while a pipeline writes.
 * A reader that wants only committed data reads files whose offset is at most the manifest's.
 *
 * <p>Events of a partition (a batch run of one window) go to {@link Partitions} instead, whose file
 * lengths the manifest records with the offset.
 */
final class JsonlSink implements Sink {
    private static final Logger LOG = LoggerFactory.getLogger(JsonlSink.class);
    private static final Pattern DATA_FILE = Pattern.compile("\\d{20}\\.jsonl");

    private final Path root;
    private final EnvelopeWriter envelopes;
    private final JsonFactory json = JsonFactory.builder().disable(com.fasterxml.jackson.core.StreamWriteFeature.AUTO_CLOSE_TARGET).build();
    private boolean cleaned;
    private final OffsetManifest manifest;
    /** The committed offset as this instance knows it; -1 for none. */
    private long committedOffset = -1;
    private final Partitions partitions;

    JsonlSink(String pipelineName, Path root, EnvelopeWriter envelopes) {
        this.root = root;
        this.envelopes = envelopes;
        this.manifest = new OffsetManifest(root, pipelineName, "JSONL");
        this.partitions = new Partitions(root);
    }

    @Override
    public List<Check> check() {
        return List.of(OffsetManifest.checkWritable(root));
    }

    @Override
    public Optional<Offset> committed() throws FerryException {
        // only reads: `ferry status` calls it while the pipeline writes; the clean-up of what a crash
        // left behind happens before this instance's first write
        Optional<Offset> committed = manifest.read();
        partitions.load(manifest.field("partitions"));
        committedOffset = committed.map(Offset::value).orElse(-1L);
        return committed;
    }

    /** Deletes data files past the committed offset and temporary files: a batch that never committed. */
    private void removeUncommitted(long committed) throws FerryException {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (DirectoryStream<Path> tables = Files.newDirectoryStream(root, Files::isDirectory)) {
            for (Path dir : tables) {
                if (dir.getFileName().toString().equals("_ferry")) {
                    continue;
                }
                boolean removed = false;
                try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                    for (Path f : files) {
                        String name = f.getFileName().toString();
                        boolean orphan = name.endsWith(".tmp")
                                || (DATA_FILE.matcher(name).matches() && Long.parseLong(name.substring(0, 20)) > committed);
                        if (orphan) {
                            Files.delete(f);
                            removed = true;
                            LOG.info("Removed {}: written by a batch that did not commit before the last stop", f);
                        }
                    }
                }
                if (removed) {
                    DurableFiles.syncFolder(dir);
                }
            }
            partitions.removeUncommitted();
        } catch (IOException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Cannot clean up uncommitted files in " + root + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void write(List<ChangeEvent> events, Offset last) throws FerryException {
        if (!cleaned) {
            committed();
            removeUncommitted(committedOffset);
            cleaned = true;
        }
        // events are offsets (last - size, last]; what is already committed is not written again
        long first = last.value() - events.size() + 1;
        if (first <= committedOffset) {
            int skip = (int) Math.min(events.size(), committedOffset - first + 1);
            events = events.subList(skip, events.size());
            if (events.isEmpty()) {
                return;
            }
        }
        Map<TableId, List<ChangeEvent>> byTable = new LinkedHashMap<>();
        List<ChangeEvent> partitioned = new ArrayList<>();
        for (ChangeEvent e : events) {
            if (e.position().partition() != null) {
                partitioned.add(e);
            } else {
                byTable.computeIfAbsent(e.table(), t -> new ArrayList<>()).add(e);
            }
        }
        String fileName = String.format("%020d.jsonl", last.value());
        long now = System.currentTimeMillis();
        Set<Path> dirs = new LinkedHashSet<>();
        try {
            for (Map.Entry<TableId, List<ChangeEvent>> entry : byTable.entrySet()) {
                Path dir = root.resolve(folderName(entry.getKey()));
                createDurably(dir);
                Path tmp = dir.resolve(fileName + ".tmp");
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
                    OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                    try (JsonGenerator g = json.createGenerator(out)) {
                        g.setPrettyPrinter(new MinimalPrettyPrinter("\n"));
                        for (ChangeEvent e : entry.getValue()) {
                            envelopes.write(e, g, now);
                        }
                        g.writeRaw('\n');
                    }
                    out.flush();
                    ch.force(false);
                }
                CrashPoints.reach("sink.before-rename");
                Files.move(tmp, dir.resolve(fileName), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                dirs.add(dir);
            }
            for (Path dir : dirs) {
                DurableFiles.syncFolder(dir);
            }
            if (!partitioned.isEmpty()) {
                partitions.write(partitioned, envelopes, json);
            }
            CrashPoints.reach("sink.before-manifest");
            createDurably(manifest.path().getParent());
            manifest.write(last, partitions.lengths().isEmpty() ? Map.of() : Map.of("partitions", partitions.lengths()));
            committedOffset = last.value();
            partitions.committed();
        } catch (IOException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Cannot write JSONL files in " + root + ": " + e.getMessage()
                    + ". Check free space and permissions; the batch will be written again on the next run.", e);
        }
    }

    /** The folder of a table: {@code schema.table}, with characters unsafe in file names escaped. */
    static String folderName(TableId table) {
        return escape(table.schema()) + "." + escape(table.name());
    }

    private static String escape(String part) {
        StringBuilder b = new StringBuilder();
        for (char c : part.toCharArray()) {
            if (Character.isLetterOrDigit(c) || c == '_' || c == '-') {
                b.append(c);
            } else {
                b.append('%').append(String.format("%02X", (int) c));
            }
        }
        return b.toString();
    }

    /** Creates a folder whose entry survives a power cut: its parent is fsync'd after creating it. */
    private void createDurably(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        Files.createDirectories(dir);
        for (Path p = dir; p != null && !p.equals(root.getParent()); p = p.getParent()) {
            if (p.getParent() != null) {
                DurableFiles.syncFolder(p.getParent());
            }
            if (p.equals(root)) {
                break;
            }
        }
    }

    @Override
    public void close() {
        try {
            manifest.close();
        } catch (IOException e) {
            LOG.debug("closing the manifest of {}", root, e);
        }
    }
}
