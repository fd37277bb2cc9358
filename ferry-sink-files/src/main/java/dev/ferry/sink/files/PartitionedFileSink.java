package dev.ferry.sink.files;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.TableId;
import dev.ferry.log.CrashPoints;
import dev.ferry.log.DurableFiles;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * History files partitioned by table and commit date, committed exactly once: the CSV and Parquet
 * sinks, which differ only in their {@link FileFormat}.
 *
 * <pre>
 * path/_ferry/offset.json.a, .b                        the manifest: the committed Log offset
 * path/public.orders/_ferry_date=2026-12-01/00000000000000029166.parquet
 * path/public.orders/_ferry_date=2026-12-01/_ferry_hour=13/…   with partition: hour
 * path/_ferry_mirror/public.orders/00000000000000029166.parquet  with a mirror: the table as of that offset
 * </pre>
 *
 * <p>Design notes. Each delivered batch becomes one file per table and partition (the UTC date, and
 * hour, of each event's commit), named by the batch's last Log offset in 20 digits, so names sort in
 * Log order within a partition. The partition folders are Hive-style ({@code key=value}) so DuckDB
 * ({@code hive_partitioning}), Spark and Trino read them as columns; their keys start with
 * {@code _ferry_} and cannot clash with a source column. Exactly once, as the JSONL sink: every file
 * of a batch is written as {@code .tmp}, fsync'd and renamed into place, the folders fsync'd, then
 * the manifest ({@link OffsetManifest}) takes the batch's last offset — that write is the commit.
 * Before its first write the sink deletes data files numbered past the manifest's offset and stray
 * {@code .tmp} files (a batch cut short by a crash, written again from the Log). A write that fails
 * removes the files it had renamed, so a refused batch (a DATA error) leaves nothing behind. A
 * mirror is compacted (previous mirror + the history files after it) before the commit and named by
 * the batch's offset, so it is committed, or removed, with the batch; the older mirrors are deleted
 * after the commit.
 */
public final class PartitionedFileSink implements Sink {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionedFileSink.class);

    /** How the files of a table are split by commit time. */
    public enum Partitioning {
        /** {@code _ferry_date=YYYY-MM-DD} */
        DAY,
        /** {@code _ferry_date=YYYY-MM-DD/_ferry_hour=HH} */
        HOUR
    }

    private final Path root;
    private final Partitioning partitioning;
    private final FileFormat format;
    private final Pattern dataFile;
    private final MirrorFormat mirror;
    private final long mirrorIntervalNanos;
    /** When each table's mirror was last compacted. */
    private final Map<TableId, Long> compactedAt = new HashMap<>();
    private final OffsetManifest manifest;
    private boolean cleaned;
    /** The committed offset as this instance knows it; -1 for none. */
    private long committedOffset = -1;

    /**
     * @param root the output folder; one pipeline's
     */
    public PartitionedFileSink(String pipelineName, Path root, Partitioning partitioning, FileFormat format) {
        this(pipelineName, root, partitioning, format, null, 0);
    }

    /**
     * A sink that also keeps a mirror of each table with a primary key, in
     * {@code <root>/_ferry_mirror/<schema.table>/<offset>.<ext>}: compacted from the previous mirror
     * and the new history files at a commit, at most once per {@code mirrorIntervalMillis} per table.
     */
    public PartitionedFileSink(String pipelineName, Path root, Partitioning partitioning, FileFormat format,
                               MirrorFormat mirror, long mirrorIntervalMillis) {
        this.root = root;
        this.partitioning = partitioning;
        this.format = format;
        this.dataFile = Pattern.compile("\\d{20}\\." + Pattern.quote(format.extension()));
        this.mirror = mirror;
        this.mirrorIntervalNanos = mirrorIntervalMillis * 1_000_000L;
        this.manifest = new OffsetManifest(root, pipelineName, format.name());
    }

    @Override
    public List<Check> check() {
        Check folder = OffsetManifest.checkWritable(root);
        if (folder.status() != Check.Status.OK) {
            return List.of(folder);
        }
        List<Check> out = new ArrayList<>(List.of(folder));
        out.addAll(format.check());
        return out;
    }

    /** Reads the manifest; deletes nothing ({@code ferry status} calls it while a pipeline writes). */
    @Override
    public Optional<Offset> committed() throws FerryException {
        Optional<Offset> committed = manifest.read();
        committedOffset = committed.map(Offset::value).orElse(-1L);
        return committed;
    }

    @Override
    public void write(List<ChangeEvent> events, Offset last) throws FerryException {
        if (!cleaned) {
            committed();
            removeUncommitted();
            cleaned = true;
        }
        // events are offsets (last - size, last]; what is already committed is not written again
        long first = last.value() - events.size() + 1;
        int skip = (int) Math.max(0, Math.min(events.size(), committedOffset - first + 1));
        if (skip == events.size() && last.value() <= committedOffset) {
            return;
        }
        Map<Path, List<Integer>> byFolder = new LinkedHashMap<>();
        for (int i = skip; i < events.size(); i++) {
            byFolder.computeIfAbsent(folder(events.get(i)), f -> new ArrayList<>()).add(i);
        }
        String fileName = String.format("%020d.%s", last.value(), format.extension());
        List<Path> written = new ArrayList<>();
        Set<Path> folders = new LinkedHashSet<>();
        boolean done = false;
        try {
            for (Map.Entry<Path, List<Integer>> entry : byFolder.entrySet()) {
                List<ChangeEvent> fileEvents = new ArrayList<>(entry.getValue().size());
                long[] offsets = new long[entry.getValue().size()];
                for (int n = 0; n < offsets.length; n++) {
                    int i = entry.getValue().get(n);
                    fileEvents.add(events.get(i));
                    offsets[n] = first + i;
                }
                publish(entry.getKey(), fileName, fileEvents, offsets, written);
                folders.add(entry.getKey());
            }
            for (Path dir : folders) {
                DurableFiles.syncFolder(dir);
            }
            Map<TableId, Path> mirrors = compactMirrors(events.subList(skip, events.size()), last.value(), written);
            CrashPoints.reach("sink.before-manifest");
            manifest.write(last);
            committedOffset = last.value();
            done = true;
            for (Path newest : mirrors.values()) {
                removeOlderMirrors(newest);
            }
        } catch (IOException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Cannot write " + format.name() + " files in " + root + ": "
                    + e.getMessage() + ". Check free space and permissions; the batch will be written again.", e);
        } finally {
            if (!done) {
                removeQuietly(written);
            }
        }
    }

    /**
     * Compacts the mirror of each table of the batch that has a primary key and whose interval has
     * passed, before the commit: a mirror named by the batch's offset is removed with the batch's
     * files if the commit does not happen. Returns the new mirror file of each table.
     */
    private Map<TableId, Path> compactMirrors(List<ChangeEvent> events, long last, List<Path> written)
            throws IOException, FerryException {
        if (mirror == null) {
            return Map.of();
        }
        Map<TableId, List<String>> keys = new LinkedHashMap<>();
        for (ChangeEvent e : events) {
            List<String> key = new ArrayList<>();
            for (int i : e.schema().keyIndexes()) {
                key.add(e.schema().column(i).name());
            }
            keys.put(e.table(), key);
        }
        Map<TableId, Path> out = new LinkedHashMap<>();
        long now = System.nanoTime();
        for (Map.Entry<TableId, List<String>> entry : keys.entrySet()) {
            TableId table = entry.getKey();
            Long at = compactedAt.get(table);
            if (entry.getValue().isEmpty() || at != null && now - at < mirrorIntervalNanos) {
                continue; // no key: a row cannot be told from its twin; or compacted a moment ago
            }
            Path dir = root.resolve("_ferry_mirror").resolve(JsonlSink.folderName(table));
            Path previous = newestFile(dir, last);
            long after = previous == null ? -1 : offsetOf(previous);
            List<Path> history = new ArrayList<>();
            try (Stream<Path> files = Files.walk(root.resolve(JsonlSink.folderName(table)))) {
                files.filter(f -> dataFile.matcher(f.getFileName().toString()).matches() && offsetOf(f) > after)
                        .sorted(java.util.Comparator.comparingLong(PartitionedFileSink::offsetOf)).forEach(history::add);
            }
            if (history.isEmpty()) {
                continue;
            }
            createDurably(dir);
            String name = String.format("%020d.%s", last, format.extension());
            Path tmp = dir.resolve(name + ".tmp");
            Files.deleteIfExists(tmp);
            written.add(tmp);
            mirror.writeMirror(tmp, previous, after, history, entry.getValue());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(false);
            }
            Path target = dir.resolve(name);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            written.set(written.size() - 1, target);
            DurableFiles.syncFolder(dir);
            compactedAt.put(table, now);
            out.put(table, target);
        }
        return out;
    }

    /** The data file of {@code dir} with the highest offset at most {@code atMost}; null for none. */
    private Path newestFile(Path dir, long atMost) throws IOException {
        if (!Files.isDirectory(dir)) {
            return null;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> dataFile.matcher(f.getFileName().toString()).matches() && offsetOf(f) <= atMost)
                    .max(java.util.Comparator.comparingLong(PartitionedFileSink::offsetOf)).orElse(null);
        }
    }

    private static long offsetOf(Path dataFile) {
        return Long.parseLong(dataFile.getFileName().toString().substring(0, 20));
    }

    /** After the commit: the mirrors before {@code newest} are not needed any more. */
    private void removeOlderMirrors(Path newest) {
        try (Stream<Path> files = Files.list(newest.getParent())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (dataFile.matcher(f.getFileName().toString()).matches() && offsetOf(f) < offsetOf(newest)) {
                    Files.delete(f);
                }
            }
        } catch (IOException e) {
            LOG.warn("Could not remove an older mirror file beside {} ({}); readers take the newest, the next compaction "
                    + "tries again", newest, e.getMessage());
        }
    }

    /**
     * Writes one file of history rows as {@code .tmp}, fsyncs it and renames it into place, replacing
     * a file of that name; {@code written} gets the path that exists at each step, for removal.
     */
    private void publish(Path dir, String fileName, List<ChangeEvent> events, long[] offsets, List<Path> written)
            throws IOException, FerryException {
        List<Column> sourceColumns = HistoryRows.sourceColumnsOf(events);
        rejectReservedNames(events.get(0).table(), sourceColumns);
        List<Column> columns = HistoryRows.withBeforeKey(sourceColumns);
        createDurably(dir);
        Path tmp = dir.resolve(fileName + ".tmp");
        Files.deleteIfExists(tmp);
        written.add(tmp);
        format.write(tmp, columns, events, offsets);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(false);
        }
        CrashPoints.reach("sink.before-rename");
        Path target = dir.resolve(fileName);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        written.set(written.size() - 1, target);
    }

    /**
     * Writes a dead-lettered event again, as a file of its own named by its own Log offset in its
     * table's partition: no batch file has that name (a batch's file is named by its last offset, and
     * the batch that ended at this offset refused this very event), and a second replay replaces the
     * file, leaving one copy. The manifest stays as it is: the offset is behind it.
     */
    @Override
    public void replay(ChangeEvent event, Offset offset) throws FerryException {
        Path dir = folder(event);
        List<Path> written = new ArrayList<>();
        boolean done = false;
        try {
            publish(dir, String.format("%020d.%s", offset.value(), format.extension()), List.of(event),
                    new long[] {offset.value()}, written);
            DurableFiles.syncFolder(dir);
            done = true;
            // the mirrors hold the offsets past this one already: the next compaction rebuilds from the history
            Path mirrors = root.resolve("_ferry_mirror").resolve(JsonlSink.folderName(event.table()));
            if (Files.isDirectory(mirrors)) {
                try (Stream<Path> files = Files.list(mirrors)) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        Files.delete(f);
                    }
                }
            }
        } catch (IOException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Cannot write the " + format.name() + " file of the event at offset "
                    + offset + " in " + dir + ": " + e.getMessage() + ". Check free space and permissions.", e);
        } finally {
            if (!done) {
                removeQuietly(written);
            }
        }
    }

    /** {@code <root>/<schema.table>/_ferry_date=…[/_ferry_hour=…]} of an event's commit time (UTC). */
    private Path folder(ChangeEvent e) {
        ZonedDateTime at = e.committedAt().atZone(ZoneOffset.UTC);
        Path dir = root.resolve(JsonlSink.folderName(e.table())).resolve("_ferry_date=" + at.toLocalDate());
        return partitioning == Partitioning.HOUR ? dir.resolve(String.format("_ferry_hour=%02d", at.getHour())) : dir;
    }

    private void rejectReservedNames(TableId table, List<Column> columns) throws FerryException {
        for (Column c : columns) {
            if (c.name().startsWith("_ferry_")) {
                throw new FerryException(ErrorKind.DATA, "Table " + table + " has a column " + c.name() + ": names starting "
                        + "with _ferry_ are the " + format.name() + " sink's own columns. Rename the column at the source.");
            }
        }
    }

    /** Deletes data files numbered past the committed offset and {@code .tmp} files: batches that never committed. */
    private void removeUncommitted() throws FerryException {
        if (!Files.isDirectory(root)) {
            return;
        }
        Set<Path> touched = new LinkedHashSet<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                boolean orphan = Files.isRegularFile(f) && !f.getParent().equals(root.resolve("_ferry"))
                        && (name.endsWith("." + format.extension() + ".tmp")
                        || dataFile.matcher(name).matches() && Long.parseLong(name.substring(0, 20)) > committedOffset);
                if (orphan) {
                    Files.delete(f);
                    touched.add(f.getParent());
                    LOG.info("Removed {}: written by a batch that did not commit before the last stop", f);
                }
            }
            for (Path dir : touched) {
                DurableFiles.syncFolder(dir);
            }
        } catch (IOException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Cannot clean up uncommitted files in " + root + ": "
                    + e.getMessage() + ". Check the folder's permissions.", e);
        }
    }

    private static void removeQuietly(List<Path> files) {
        for (Path f : files) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                LOG.warn("Could not remove {} after a failed write ({}); the next start removes it", f, e.getMessage());
            }
        }
    }

    /** Creates a folder whose entry survives a power cut: each new level's parent is fsync'd. */
    private void createDurably(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        List<Path> missing = new ArrayList<>();
        for (Path p = dir; p != null && !Files.isDirectory(p); p = p.getParent()) {
            missing.add(p);
        }
        Files.createDirectories(dir);
        for (Path p : missing) {
            DurableFiles.syncFolder(p.getParent());
        }
    }

    @Override
    public void close() {
        format.close();
        try {
            manifest.close();
        } catch (IOException e) {
            LOG.debug("closing the manifest of {}", root, e);
        }
    }
}
