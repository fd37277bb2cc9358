package dev.ferry.log;

import dev.ferry.event.ChangeEvent;
import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded Log: segment files in one folder, each named by the offset of its first event,
 * each with a sparse index beside it.
 *
 * <p>Design notes.
 * <ul>
 *   <li>An append writes one or more {@link Frame}s (cut at about {@link #FRAME_TARGET_BYTES}) and
 *       fsyncs once before returning; only then is the source acknowledged. Each frame carries the
 *       position reached after its events, so the position on disk never runs ahead of the events.</li>
 *   <li>Recovery on open scans the last segment. A crash during an append leaves a torn tail: frames
 *       of that one (never acknowledged) append, cut short or with pages missing. It is dropped. A
 *       damaged frame followed by a sound frame of a later append cannot be torn (the later append
 *       began only after the earlier one's fsync): that is corruption, reported with file and byte
 *       and never truncated away. Bit rot inside the very last append cannot be told from a torn
 *       write without a separate commit record; that append is dropped like a torn one.</li>
 *   <li>Readers read only below each segment's published durable size, and report any damage they
 *       meet as corruption: the pipeline stops rather than skip data.</li>
 *   <li>A failed fsync is not retried: the IOException propagates and the process stops; recovery on
 *       restart decides what is on disk (PostgreSQL's fsyncgate lesson).</li>
 *   <li>A new segment file is made durable (folder fsync) before any frame goes into it.</li>
 * </ul>
 * One writer thread; readers on any threads.
 */
public final class FileLog implements Log {
    private static final Logger LOG = LoggerFactory.getLogger(FileLog.class);
    private static final String SUFFIX = ".log";
    /** Appends are cut into frames of about this size. */
    static final long FRAME_TARGET_BYTES = 8L * 1024 * 1024;

    private final Path dir;
    private final PositionCodec positionCodec;
    private final EventCodec codec;
    private final long segmentBytes;
    private final long frameTargetBytes;
    private final long fsyncIntervalNanos;
    private final ConcurrentSkipListMap<Long, Segment> segments = new ConcurrentSkipListMap<>();
    private final Object endMonitor = new Object();
    private final SyncTimer syncTimer;

    private FileChannel active;
    private FileChannel activeIndex;
    /** The active index sidecar's length, kept here: asking the file costs a system call per append. */
    private long activeIndexBytes;
    /** The index entries of the append being written, for one write to the sidecar. */
    private ByteBuffer indexEntries = ByteBuffer.allocate(16 * 64);
    /** Durable, readable end; what readers and the pipeline see. */
    private volatile long end;
    private volatile Position lastPosition;
    /** Written (possibly not yet durable) end, bytes of the active segment, position, newest append. */
    private long writtenEnd;
    private long writtenBytes;
    private Position writtenPosition;
    private long durableAppend = -1;
    private long lastSyncNanos = System.nanoTime();
    private ByteSink frameBuffer = new ByteSink(64 * 1024);
    private long nextAppendNumber;
    private boolean createdNow;
    private boolean readOnly;
    /** Why this Log may no longer be written: an append failed and could not be undone. */
    private IOException broken;

    private FileLog(Path dir, PositionCodec positionCodec, long segmentBytes, long frameTargetBytes,
                    long fsyncIntervalMillis) {
        this.dir = dir;
        this.positionCodec = positionCodec;
        this.codec = new EventCodec(positionCodec);
        this.segmentBytes = segmentBytes;
        this.frameTargetBytes = frameTargetBytes;
        this.fsyncIntervalNanos = fsyncIntervalMillis * 1_000_000L;
        this.syncTimer = new SyncTimer(dir, System::nanoTime, LOG::warn);
    }

    /**
     * How a Log is kept.
     *
     * @param segmentBytes        a new segment starts once the active one holds this many bytes
     * @param fsyncIntervalMillis 0: fsync every append before it returns (the default); otherwise
     *                            fsync at most this often, so appends return sooner and become
     *                            durable (and acknowledged, and readable) within the interval
     */
    public record Options(long segmentBytes, long fsyncIntervalMillis) {
        public static final Options DEFAULT = new Options(64L * 1024 * 1024, 0);
    }

    /** Opens (creating when missing) the Log in {@code dir} with the given options. */
    public static FileLog open(Path dir, PositionCodec positionCodec, Options options) throws IOException {
        Files.createDirectories(dir);
        FileLog log = new FileLog(dir, positionCodec, options.segmentBytes(), FRAME_TARGET_BYTES,
                options.fsyncIntervalMillis());
        log.recover();
        return log;
    }

    /** Opens (creating when missing) the Log in {@code dir}, recovering a torn tail. */
    public static FileLog open(Path dir, PositionCodec positionCodec) throws IOException {
        return open(dir, positionCodec, 64L * 1024 * 1024);
    }

    /** As {@link #open(Path, PositionCodec)} with a given segment size, for tests of rolling. */
    public static FileLog open(Path dir, PositionCodec positionCodec, long segmentBytes) throws IOException {
        return open(dir, positionCodec, segmentBytes, FRAME_TARGET_BYTES);
    }

    /**
     * Opens an existing Log for reading only, while another process may be appending to it: nothing
     * is truncated or rewritten, and a frame being written is simply not seen. For {@code ferry status}.
     */
    public static FileLog openReadOnly(Path dir, PositionCodec positionCodec) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new java.nio.file.NoSuchFileException(dir.toString());
        }
        FileLog log = new FileLog(dir, positionCodec, Long.MAX_VALUE, FRAME_TARGET_BYTES, 0);
        log.readOnly = true;
        log.recover();
        return log;
    }

    /** With a given frame size too, so tests can make multi-frame appends out of small events. */
    static FileLog open(Path dir, PositionCodec positionCodec, long segmentBytes, long frameTargetBytes)
            throws IOException {
        Files.createDirectories(dir);
        FileLog log = new FileLog(dir, positionCodec, segmentBytes, frameTargetBytes, 0);
        log.recover();
        return log;
    }

    private void recover() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(f -> f.getFileName().toString().endsWith(SUFFIX)).toList()) {
                String name = p.getFileName().toString();
                long base = Long.parseLong(name.substring(0, name.length() - SUFFIX.length()));
                segments.put(base, new Segment(base, p, Files.size(p)));
            }
        }
        if (segments.isEmpty()) {
            if (readOnly) {
                return;
            }
            openNewSegment(0);
            createdNow = true;
            return;
        }
        Segment last = segments.lastEntry().getValue();
        Frame previous = null;
        Map.Entry<Long, Segment> before = segments.lowerEntry(last.baseOffset);
        if (before != null) {
            previous = lastFrameOf(before.getValue());
        }
        long size = Files.size(last.path);
        long expected = last.baseOffset;
        long validBytes = 0;
        TreeMap<Long, Long> index = new TreeMap<>();
        Frame lastSound = previous;
        try (FileChannel ch = FileChannel.open(last.path, StandardOpenOption.READ)) {
            while (true) {
                Frame.Read r = Frame.read(ch, validBytes, size, positionCodec, codec);
                Frame frame = r.frame();
                if (frame == null || frame.firstOffset() != expected) {
                    if ((r.damage() != null || frame != null) && !readOnly) {
                        requireTornTail(ch, last.path, validBytes, size, lastSound);
                    }
                    break;
                }
                if (!frame.events().isEmpty()) {
                    index.put(frame.firstOffset(), validBytes);
                }
                validBytes += frame.totalBytes();
                expected = frame.firstOffset() + frame.events().size();
                lastSound = frame;
            }
        }
        // A torn append may have left whole frames before its damaged one: drop back to the end of the
        // last complete append, so no part of an unacknowledged append survives.
        if (lastSound != null && lastSound != previous && !lastSound.lastOfAppend()) {
            long cut = 0;
            long exp = last.baseOffset;
            Frame kept = previous;
            TreeMap<Long, Long> keptIndex = new TreeMap<>();
            try (FileChannel ch = FileChannel.open(last.path, StandardOpenOption.READ)) {
                long at = 0;
                while (at < validBytes) {
                    Frame f = Frame.read(ch, at, validBytes, positionCodec, codec).frame();
                    at += f.totalBytes();
                    if (f.lastOfAppend()) {
                        cut = at;
                        exp = f.firstOffset() + f.events().size();
                        kept = f;
                    }
                }
                for (Map.Entry<Long, Long> e : index.entrySet()) {
                    if (e.getValue() < cut) {
                        keptIndex.put(e.getKey(), e.getValue());
                    }
                }
            }
            validBytes = cut;
            expected = exp;
            lastSound = kept;
            index = keptIndex;
        }
        if (readOnly) {
            last.durableBytes = validBytes;
            end = expected;
            lastPosition = lastSound == null ? null : lastSound.position();
            return;
        }
        if (validBytes < size) {
            LOG.warn("Log segment {} ends with {} bytes of an append that a crash interrupted; dropping them. "
                    + "Every acknowledged event lies before them.", last.path, size - validBytes);
        }
        active = FileChannel.open(last.path, StandardOpenOption.WRITE, StandardOpenOption.READ);
        active.truncate(validBytes);
        active.force(true);
        active.position(validBytes);
        last.durableBytes = validBytes;
        last.replaceIndex(index);
        activeIndex = FileChannel.open(last.indexPath, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        activeIndexBytes = activeIndex.size();
        end = expected;
        writtenEnd = expected;
        writtenBytes = validBytes;
        lastPosition = lastSound == null ? null : lastSound.position();
        writtenPosition = lastPosition;
        nextAppendNumber = lastSound == null ? 0 : lastSound.appendNumber() + 1;
        durableAppend = nextAppendNumber - 1; // everything kept was just fsync'd (truncate + force above)
    }

    /**
     * Throws unless the damage at {@code at} is a torn tail: a damaged frame is torn only if no sound
     * frame after it says that the damaged frame's append had been fsync'd before it was written.
     */
    private void requireTornTail(FileChannel ch, Path file, long at, long size, Frame lastSound) throws IOException {
        long damagedAppend = lastSound == null ? 0
                : lastSound.lastOfAppend() ? lastSound.appendNumber() + 1 : lastSound.appendNumber();
        // The damage may be in a length field (which the checksum does not cover), so the frames after
        // it cannot be found by following lengths: a flipped bit there made the rest of the segment look
        // like one frame cut short, and acknowledged appends were dropped as a torn tail. Try every byte
        // instead; only a place that starts like a frame recording the damaged append as fsync'd is
        // checked in full.
        int probe = Frame.HEADER_BYTES + 18; // length, checksum, version, flags, append number, durable append
        ByteBuffer window = ByteBuffer.allocate(64 * 1024);
        long start = at;
        while (size - start >= probe) {
            window.clear().limit((int) Math.min(window.capacity(), size - start));
            Frame.readFully(ch, window, start);
            int n = window.limit();
            for (int i = 0; i + probe <= n; i++) {
                int length = window.getInt(i);
                if (length > 0 && length <= size - start - i - Frame.HEADER_BYTES
                        && window.get(i + Frame.HEADER_BYTES) == Frame.VERSION
                        && (window.get(i + Frame.HEADER_BYTES + 1) & ~Frame.LAST_OF_APPEND) == 0
                        && window.getLong(i + Frame.HEADER_BYTES + 10) >= damagedAppend) {
                    Frame.Read r = Frame.read(ch, start + i, size, positionCodec, codec);
                    if (r.frame() != null && r.frame().durableAppend() >= damagedAppend) {
                        throw corrupt(file, at, "this frame fails its checks but a later frame, at byte " + (start + i)
                                + ", records it as fsync'd, so it is not a write cut short by a crash");
                    }
                }
            }
            start += n - probe + 1;
        }
    }

    private Frame lastFrameOf(Segment segment) throws IOException {
        Frame last = null;
        try (FileChannel ch = FileChannel.open(segment.path, StandardOpenOption.READ)) {
            long at = 0;
            while (at < segment.durableBytes) {
                Frame.Read r = Frame.read(ch, at, segment.durableBytes, positionCodec, codec);
                if (r.frame() == null) {
                    throw corrupt(segment.path, at, Frame.describe(r.damage()));
                }
                at += r.frame().totalBytes();
                last = r.frame();
            }
        }
        return last;
    }

    /**
     * Starts a segment at offset {@code base}. All or nothing: when a step fails (a full disk, no free
     * inode), what it created is removed and the active segment stays the active one.
     */
    private void openNewSegment(long base) throws IOException {
        Path path = dir.resolve(String.format("%020d%s", base, SUFFIX));
        Segment segment = new Segment(base, path, 0);
        FileChannel newActive = null;
        FileChannel newIndex = null;
        try {
            newActive = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    StandardOpenOption.READ);
            segment.replaceIndex(new TreeMap<>());
            newIndex = FileChannel.open(segment.indexPath, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            fsyncDirectory(); // the new file is durable before any frame goes into it
        } catch (IOException | RuntimeException e) {
            for (java.io.Closeable c : new java.io.Closeable[] {newActive, newIndex}) {
                try {
                    if (c != null) {
                        c.close();
                    }
                } catch (IOException ignored) {
                    // closing what is being thrown away
                }
            }
            if (newActive != null) { // created here (CREATE_NEW): nothing else is in it
                try {
                    Files.deleteIfExists(path);
                    Files.deleteIfExists(segment.indexPath);
                } catch (IOException undo) {
                    e.addSuppressed(undo);
                }
            }
            throw e;
        }
        if (active != null) {
            active.close();
            activeIndex.close();
        }
        active = newActive;
        activeIndex = newIndex;
        activeIndexBytes = 0;
        segments.put(base, segment);
    }

    private void fsyncDirectory() throws IOException {
        // A new or deleted file is durable only once its directory entry is: fsync the folder.
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    @Override
    public synchronized Offset append(List<ChangeEvent> events, Position position) throws IOException {
        requireWritable();
        if (writtenBytes >= segmentBytes && !events.isEmpty()) {
            sync(); // a sealed segment is always durable
            try {
                openNewSegment(writtenEnd); // all or nothing: on failure the active segment stays as it was
            } catch (IOException e) {
                throw isDiskFull(e) ? new DiskFullException(dir, e) : e;
            }
            writtenBytes = 0;
        }
        Segment segment = segments.lastEntry().getValue();
        long appendNumber = nextAppendNumber++;
        long startBytes = writtenBytes;
        long startIndexBytes = activeIndexBytes;
        try {
            writeFrames(events, position, segment, appendNumber);
        } catch (IOException | RuntimeException e) {
            // Nothing of this append may stay: a later append's frames must follow the last whole one.
            // The bytes go, so a retry (the disk had no space) writes the same append again.
            try {
                active.truncate(startBytes);
                active.position(startBytes);
                activeIndex.truncate(startIndexBytes);
                activeIndexBytes = startIndexBytes;
                segment.dropIndexFrom(writtenEnd);
            } catch (IOException | RuntimeException undo) {
                e.addSuppressed(undo);
                // the tail is unknown: only a reopen (recovery) may write again
                broken = e instanceof IOException io ? io : new IOException(e);
                throw broken;
            }
            writtenBytes = startBytes;
            nextAppendNumber = appendNumber;
            if (e instanceof IOException io) {
                throw isDiskFull(io) ? new DiskFullException(dir, io) : io;
            }
            throw (RuntimeException) e;
        }
        writtenEnd += events.size();
        writtenPosition = position;
        if (fsyncIntervalNanos == 0 || System.nanoTime() - lastSyncNanos >= fsyncIntervalNanos) {
            sync();
        }
        return Offset.of(writtenEnd);
    }

    private boolean isDiskFull(IOException e) {
        // The JDK reports ENOSPC (and EDQUOT) only as a plain IOException, its message the C library's
        // text, which follows the system's language: where the English text is not there, the free
        // space on the folder's file system decides.
        String m = String.valueOf(e.getMessage());
        if (m.contains("No space left on device") || m.contains("Disk quota exceeded")) {
            return true;
        }
        try {
            return Files.getFileStore(dir).getUsableSpace() < Math.max(1L << 20, frameTargetBytes);
        } catch (IOException | RuntimeException unknown) {
            return false;
        }
    }

    private void writeFrames(List<ChangeEvent> events, Position position, Segment segment, long appendNumber)
            throws IOException {
        // Events are encoded straight into one reused buffer; a frame closes once it holds about
        // frameTargetBytes (with the position of its last event), so no frame outgrows what a
        // reader may hold in memory, whatever the size of the rows.
        int i = 0;
        do {
            long firstOffset = writtenEnd + i;
            Frame.begin(frameBuffer, appendNumber, durableAppend, firstOffset);
            Map<dev.ferry.event.TableSchema, Integer> declared = new java.util.IdentityHashMap<>();
            int count = 0;
            while (i < events.size() && (count == 0 || frameBuffer.size() < frameTargetBytes)) {
                codec.encode(events.get(i++), declared, frameBuffer);
                count++;
            }
            boolean lastOfAppend = i == events.size();
            Position framePosition = lastOfAppend ? position : events.get(i - 1).position();
            ByteBuffer frame = Frame.finish(frameBuffer, lastOfAppend, count, positionCodec.encode(framePosition));
            long frameAt = writtenBytes;
            writtenBytes += Frame.writeFully(active, frame);
            if (count > 0) {
                segment.indexFrame(firstOffset, frameAt);
                if (indexEntries.remaining() < 16) {
                    indexEntries = ByteBuffer.allocate(2 * indexEntries.capacity()).put(indexEntries.flip());
                }
                indexEntries.putLong(firstOffset).putLong(frameAt);
            }
        } while (i < events.size());
        indexEntries.flip();
        try {
            while (indexEntries.hasRemaining()) {
                activeIndexBytes += activeIndex.write(indexEntries);
            }
        } finally {
            indexEntries.clear();
            if (indexEntries.capacity() > 16 * 4096) {
                indexEntries = ByteBuffer.allocate(16 * 64);
            }
        }
        if (frameBuffer.array().length > 4 * frameTargetBytes) {
            frameBuffer = new ByteSink(64 * 1024); // one huge row must not pin its buffer forever
        }
    }

    /**
     * Makes every append so far durable (fsync) and visible to readers and {@link #lastPosition()}.
     * With the default policy every append already did; with an fsync interval the capture calls it
     * through {@link #syncIfDue()}.
     */
    @Override
    public synchronized void sync() throws IOException {
        requireWritable();
        if (writtenEnd == end && writtenPosition == lastPosition) {
            // nothing to sync: the interval is not restarted, so that the first append after a quiet
            // spell is synced at once instead of up to an interval after an idle poll's call
            return;
        }
        lastSyncNanos = System.nanoTime();
        CrashPoints.reach("log.before-fsync");
        Segment segment = segments.lastEntry().getValue();
        FileChannel channel = active;
        long bytes = writtenBytes - segment.durableBytes;
        long events = writtenEnd - end;
        long nanos = syncTimer.time(() -> channel.force(false));
        durableAppend = nextAppendNumber - 1;
        segment.durableBytes = writtenBytes;
        lastPosition = writtenPosition;
        synchronized (endMonitor) {
            end = writtenEnd;
            endMonitor.notifyAll();
        }
        syncTimer.record(nanos, bytes, events); // after the sinks may read it: a listener cannot hold them up
    }

    /** Every {@link #sync()} that has something to make durable is timed; a slow one is logged at WARN. */
    @Override
    public boolean addSyncListener(SyncListener listener) {
        syncTimer.add(listener);
        return true;
    }

    @Override
    public synchronized void syncIfDue() throws IOException {
        if (fsyncIntervalNanos > 0 && System.nanoTime() - lastSyncNanos >= fsyncIntervalNanos) {
            sync();
        }
    }

    @Override
    public synchronized long nanosUntilNextSync() {
        return fsyncIntervalNanos == 0 ? 0 : Math.max(0, lastSyncNanos + fsyncIntervalNanos - System.nanoTime());
    }

    @Override
    public synchronized long nanosUntilSyncDue() {
        if (fsyncIntervalNanos == 0 || (writtenEnd == end && writtenPosition == lastPosition)) {
            return Long.MAX_VALUE;
        }
        return Math.max(0, lastSyncNanos + fsyncIntervalNanos - System.nanoTime());
    }

    @Override
    public boolean createdNow() {
        return createdNow;
    }

    @Override
    public Optional<Position> lastPosition() {
        return Optional.ofNullable(lastPosition);
    }

    @Override
    public Offset end() {
        return Offset.of(end);
    }

    @Override
    public Offset start() {
        return segments.isEmpty() ? Offset.of(0) : Offset.of(segments.firstKey());
    }

    /** Bytes held on disk by all segments. */
    @Override
    public long sizeBytes() {
        long n = 0;
        for (Segment s : segments.values()) {
            n += s.durableBytes;
        }
        return n;
    }

    @Override
    public boolean awaitEnd(Offset offset, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        synchronized (endMonitor) {
            while (end <= offset.value()) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    return false;
                }
                endMonitor.wait(left);
            }
            return true;
        }
    }

    @Override
    public LogReader readFrom(Offset first) throws IOException {
        if (first.value() < start().value()) {
            throw new IllegalArgumentException("offset " + first + " was deleted by retention; the Log starts at " + start());
        }
        return new FileLogReader(this, segments, positionCodec, codec, first.value());
    }

    @Override
    public void deleteBefore(Offset oldestStillNeeded, long minAgeMillis) throws IOException {
        requireWritable();
        long now = System.currentTimeMillis();
        boolean deleted = false;
        // Readers and the writer never touch a segment wholly before the oldest needed offset, and the
        // active segment is never deleted, so this needs no lock against append.
        for (Map.Entry<Long, Segment> e : segments.entrySet()) {
            Map.Entry<Long, Segment> next = segments.higherEntry(e.getKey());
            if (next == null || next.getKey() > oldestStillNeeded.value()) {
                break;
            }
            synchronized (this) {
                // two sinks may release at once: check and delete under the lock, a segment at a time
                if (!segments.containsKey(e.getKey())) {
                    continue;
                }
                if (minAgeMillis > 0 && now - Files.getLastModifiedTime(e.getValue().path).toMillis() < minAgeMillis) {
                    break; // retained for replay; younger segments follow
                }
                segments.remove(e.getKey());
                e.getValue().deleteFiles();
                deleted = true;
            }
        }
        if (deleted) {
            fsyncDirectory();
        }
    }

    @Override
    public synchronized void reset() throws IOException {
        requireWritable();
        writtenEnd = 0;
        writtenBytes = 0;
        writtenPosition = null;
        durableAppend = -1;
        active.close();
        activeIndex.close();
        active = null;
        for (Segment s : segments.values()) {
            s.deleteFiles();
        }
        segments.clear();
        lastPosition = null;
        nextAppendNumber = 0;
        synchronized (endMonitor) {
            end = 0;
        }
        openNewSegment(0);
    }

    @Override
    public synchronized void close() throws IOException {
        syncTimer.close();
        if (active != null) {
            active.close();
            activeIndex.close();
            active = null;
        }
    }

    private void requireWritable() throws IOException {
        if (readOnly) {
            throw new UnsupportedOperationException("this Log was opened read-only");
        }
        if (broken != null) {
            throw new IOException("An earlier append to the Log in " + dir + " failed and could not be undone ("
                    + broken.getMessage() + "); restart Ferry, which recovers the Log from what is on disk.", broken);
        }
    }

    IOException corrupt(Path file, long at, String why) {
        return new IOException("The Log is corrupt: " + file + " at byte " + at + ": " + why
                + ". Ferry stops rather than skip data. Restore the state folder from a backup or start the "
                + "pipeline over with a new state folder (which re-snapshots).");
    }
}
