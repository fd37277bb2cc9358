package dev.ferry.log;

import dev.ferry.event.ChangeEvent;
import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded Log: segment files in one folder, each named by the offset of its first event.
 *
 * <p>Design notes.
 * <ul>
 *   <li>A segment is a sequence of frames; one frame is one {@link #append}: {@code u32 length,
 *       u32 CRC-32C of the body, body}; the body holds the first offset, the source position and the
 *       events ({@link EventCodec}). A frame is the unit of durability: it is written whole and then
 *       fsync'd before {@code append} returns, so the position it carries is never on disk without
 *       its events.</li>
 *   <li>Recovery on open scans the last segment and truncates it after the last frame whose length,
 *       checksum and offset are right: a torn tail from a crash is dropped, nothing before it.</li>
 *   <li>Readers only read below the published durable size of each segment, so they never see a
 *       frame that is being written.</li>
 *   <li>A failed fsync is not retried: the IOException propagates and the process stops; recovery
 *       on restart decides what is on disk (PostgreSQL's fsyncgate lesson).</li>
 * </ul>
 * One writer thread; readers on any threads.
 */
public final class FileLog implements Log {
    private static final Logger LOG = LoggerFactory.getLogger(FileLog.class);
    private static final String SUFFIX = ".log";
    private static final int FRAME_VERSION = 1;
    /** Appends are cut into frames of about this size. */
    static final long FRAME_TARGET_BYTES = 8L * 1024 * 1024;
    /** A frame larger than this is refused on write and taken as a corrupt length on read. */
    static final int MAX_FRAME_BYTES = 1024 * 1024 * 1024;
    /** A reader stops adding frames to one read once it holds this many bytes of them. */
    static final long READ_BUDGET_BYTES = 32L * 1024 * 1024;

    private final Path dir;
    private final PositionCodec positionCodec;
    private final EventCodec codec;
    private final long segmentBytes;
    private final ConcurrentSkipListMap<Long, Segment> segments = new ConcurrentSkipListMap<>();
    private final Object endMonitor = new Object();

    private FileChannel active;
    private volatile long end;
    private volatile Position lastPosition;
    private boolean createdNow;

    /** One segment file; its durable size is what readers may read. */
    static final class Segment {
        final long baseOffset;
        final Path path;
        volatile long durableBytes;

        Segment(long baseOffset, Path path, long durableBytes) {
            this.baseOffset = baseOffset;
            this.path = path;
            this.durableBytes = durableBytes;
        }
    }

    private FileLog(Path dir, PositionCodec positionCodec, long segmentBytes) {
        this.dir = dir;
        this.positionCodec = positionCodec;
        this.codec = new EventCodec(positionCodec);
        this.segmentBytes = segmentBytes;
    }

    /** Opens (creating when missing) the Log in {@code dir}, recovering a torn tail. */
    public static FileLog open(Path dir, PositionCodec positionCodec) throws IOException {
        return open(dir, positionCodec, 64L * 1024 * 1024);
    }

    /** As {@link #open(Path, PositionCodec)} with a given segment size, for tests of rolling. */
    public static FileLog open(Path dir, PositionCodec positionCodec, long segmentBytes) throws IOException {
        Files.createDirectories(dir);
        FileLog log = new FileLog(dir, positionCodec, segmentBytes);
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
            openNewSegment(0);
            createdNow = true;
            return;
        }
        Segment last = segments.lastEntry().getValue();
        long expected = last.baseOffset;
        long validBytes = 0;
        Position position = null;
        try (FileChannel ch = FileChannel.open(last.path, StandardOpenOption.READ)) {
            while (true) {
                Frame frame = readFrame(ch, validBytes, Files.size(last.path), false);
                if (frame == null || frame.firstOffset != expected) {
                    break;
                }
                validBytes += frame.totalBytes;
                expected = frame.firstOffset + frame.events.size();
                position = frame.position;
            }
            requireTornTail(ch, validBytes, Files.size(last.path));
        }
        long size = Files.size(last.path);
        if (validBytes < size) {
            LOG.warn("Log segment {} ends with {} bytes of an incomplete write (a crash during append); "
                    + "dropping them. Every acknowledged event lies before them.", last.path, size - validBytes);
        }
        active = FileChannel.open(last.path, StandardOpenOption.WRITE, StandardOpenOption.READ);
        active.truncate(validBytes);
        active.force(true);
        active.position(validBytes);
        last.durableBytes = validBytes;
        end = expected;
        if (position == null && segments.size() > 1) {
            position = lastPositionOf(segments.lowerEntry(last.baseOffset).getValue());
        }
        lastPosition = position;
    }

    /**
     * Throws when the unreadable frame at {@code at} is followed by a sound frame. A crash during
     * append only ever damages the last frame; a sound frame after a damaged one means the damage is
     * corruption, and truncating there would silently drop events already acknowledged to the source.
     */
    private void requireTornTail(FileChannel ch, long at, long size) throws IOException {
        if (at + 8 > size) {
            return;
        }
        ByteBuffer header = ByteBuffer.allocate(8);
        readFully(ch, header, at);
        int length = header.getInt(0);
        long next = at + 8 + length;
        if (length > 0 && length <= MAX_FRAME_BYTES && next < size && readFrame(ch, next, size, false) != null) {
            throw corrupt(ch, at, "this frame fails its checks but a sound frame follows it, so it is not "
                    + "a write cut short by a crash");
        }
    }

    private Position lastPositionOf(Segment segment) throws IOException {
        Position position = null;
        try (FileChannel ch = FileChannel.open(segment.path, StandardOpenOption.READ)) {
            long at = 0;
            Frame frame;
            while ((frame = readFrame(ch, at, segment.durableBytes, true)) != null) {
                at += frame.totalBytes;
                position = frame.position;
            }
        }
        return position;
    }

    private void openNewSegment(long base) throws IOException {
        Path path = dir.resolve(String.format("%020d%s", base, SUFFIX));
        if (active != null) {
            active.close();
        }
        active = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ);
        fsyncDirectory();
        segments.put(base, new Segment(base, path, 0));
    }

    private void fsyncDirectory() throws IOException {
        // A new or deleted file is durable only once its directory entry is: fsync the folder.
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    @Override
    public synchronized Offset append(List<ChangeEvent> events, Position position) throws IOException {
        Segment segment = segments.lastEntry().getValue();
        if (segment.durableBytes >= segmentBytes && !events.isEmpty()) {
            openNewSegment(end);
            segment = segments.lastEntry().getValue();
        }
        // Large rows make large batches: cut them into frames of about FRAME_TARGET_BYTES, each with
        // the position of its last event, so no frame outgrows what a reader may hold in memory.
        long first = end;
        long written = 0;
        int from = 0;
        while (from < events.size() || (from == 0 && events.isEmpty())) {
            int to = from;
            long estimate = 0;
            while (to < events.size() && (to == from || estimate < FRAME_TARGET_BYTES)) {
                estimate += estimateBytes(events.get(to++));
            }
            List<ChangeEvent> chunk = events.subList(from, to);
            Position framePosition = to == events.size() ? position : chunk.get(chunk.size() - 1).position();
            written += writeFrame(first + from, chunk, framePosition);
            from = to;
            if (events.isEmpty()) {
                break;
            }
        }
        active.force(false);
        segment.durableBytes += written;
        lastPosition = position;
        synchronized (endMonitor) {
            end += events.size();
            endMonitor.notifyAll();
        }
        return Offset.of(end);
    }

    private long writeFrame(long firstOffset, List<ChangeEvent> events, Position position) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream(512 + 256 * events.size());
        DataOutputStream out = new DataOutputStream(body);
        out.writeByte(FRAME_VERSION);
        out.writeLong(firstOffset);
        byte[] pos = positionCodec.encode(position);
        out.writeInt(pos.length);
        out.write(pos);
        codec.encode(events, out);
        out.flush();
        if (body.size() > MAX_FRAME_BYTES) {
            // refuse before writing: nothing is acknowledged, and the message says why
            throw new IOException("one change event of " + events.get(0).table() + " at " + events.get(0).position().display()
                    + " encodes to " + body.size() + " bytes, more than the Log's limit of " + MAX_FRAME_BYTES);
        }
        byte[] bytes = body.toByteArray();
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        ByteBuffer frame = ByteBuffer.allocate(8 + bytes.length);
        frame.putInt(bytes.length).putInt((int) crc.getValue()).put(bytes).flip();
        while (frame.hasRemaining()) {
            active.write(frame);
        }
        return frame.limit();
    }

    /** A cheap upper estimate of an event's encoded size, for cutting frames. */
    static long estimateBytes(ChangeEvent e) {
        return 64 + estimateRow(e.before()) + estimateRow(e.after());
    }

    private static long estimateRow(dev.ferry.event.Row row) {
        if (row == null) {
            return 0;
        }
        long n = 0;
        for (int i = 0; i < row.size(); i++) {
            n += estimateValue(row.get(i));
        }
        return n;
    }

    private static long estimateValue(Object v) {
        if (v instanceof String str) {
            return 5 + 3L * str.length();
        }
        if (v instanceof byte[] b) {
            return 5 + b.length;
        }
        if (v instanceof List<?> list) {
            long n = 5;
            for (Object o : list) {
                n += estimateValue(o);
            }
            return n;
        }
        return 9;
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
        return Offset.of(segments.firstKey());
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
        if (first.value() < segments.firstKey()) {
            throw new IllegalArgumentException("offset " + first + " was deleted by retention; the Log starts at " + start());
        }
        return new Reader(first.value());
    }

    @Override
    public synchronized void deleteBefore(Offset oldestStillNeeded) throws IOException {
        boolean deleted = false;
        for (Map.Entry<Long, Segment> e : segments.entrySet()) {
            Map.Entry<Long, Segment> next = segments.higherEntry(e.getKey());
            if (next == null || next.getKey() > oldestStillNeeded.value()) {
                break;
            }
            segments.remove(e.getKey());
            Files.deleteIfExists(e.getValue().path);
            deleted = true;
        }
        if (deleted) {
            fsyncDirectory();
        }
    }

    @Override
    public synchronized void reset() throws IOException {
        active.close();
        active = null;
        for (Segment s : segments.values()) {
            Files.deleteIfExists(s.path);
        }
        segments.clear();
        lastPosition = null;
        synchronized (endMonitor) {
            end = 0;
        }
        openNewSegment(0);
    }

    @Override
    public synchronized void close() throws IOException {
        if (active != null) {
            active.close();
            active = null;
        }
    }

    /** A decoded frame and its size on disk. */
    private record Frame(long firstOffset, Position position, List<ChangeEvent> events, long totalBytes) {
    }

    /**
     * Reads the frame at {@code at}, or returns null at the end of the readable bytes or at a frame
     * that is incomplete or fails its checksum. With {@code strict}, such a frame is an error instead:
     * in a sealed part of the Log it means corruption, never a torn tail.
     */
    private Frame readFrame(FileChannel ch, long at, long limit, boolean strict) throws IOException {
        if (at + 8 > limit) {
            if (strict && at != limit) {
                throw corrupt(ch, at, "a frame header is cut short");
            }
            return null;
        }
        ByteBuffer header = ByteBuffer.allocate(8);
        readFully(ch, header, at);
        header.flip();
        int length = header.getInt();
        int crc = header.getInt();
        if (length <= 0 || length > MAX_FRAME_BYTES || at + 8 + length > limit) {
            if (strict) {
                throw corrupt(ch, at, "the frame length " + length + " is impossible here");
            }
            return null;
        }
        ByteBuffer body = ByteBuffer.allocate(length);
        readFully(ch, body, at + 8);
        CRC32C check = new CRC32C();
        check.update(body.array());
        if ((int) check.getValue() != crc) {
            if (strict) {
                throw corrupt(ch, at, "the checksum does not match (the bytes changed on disk)");
            }
            return null;
        }
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(body.array()));
        int version = in.readUnsignedByte();
        if (version != FRAME_VERSION) {
            throw new IOException("Log frame version " + version + " at byte " + at + " is not one this Ferry reads");
        }
        long first = in.readLong();
        byte[] pos = in.readNBytes(in.readInt());
        List<ChangeEvent> events = codec.decode(in);
        return new Frame(first, positionCodec.decode(pos), events, 8L + length);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long at) throws IOException {
        long p = at;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, p);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + p);
            }
            p += n;
        }
    }

    private IOException corrupt(FileChannel ch, long at, String why) {
        return new IOException("The Log is corrupt in " + dir + " at byte " + at + " of a segment: " + why
                + ". Ferry stops rather than skip data. Restore the state folder from a backup or start the "
                + "pipeline over with a new state folder (which re-snapshots).");
    }

    /** Reads frames forward; buffers at most one frame's events. */
    private final class Reader implements LogReader {
        private long next;
        private Segment segment;
        private FileChannel channel;
        private long bytePos;
        private List<ChangeEvent> buffered = List.of();
        private long bufferedFirst;
        private int bufferedIndex;
        private long loadedFrameBytes;

        Reader(long first) {
            this.next = first;
        }

        @Override
        public List<LogEntry> read(int maxEvents, Offset limit) throws IOException {
            List<LogEntry> out = new ArrayList<>();
            long bytes = 0;
            while (out.size() < maxEvents && next < limit.value()) {
                if (bufferedIndex < buffered.size()) {
                    long offset = bufferedFirst + bufferedIndex;
                    ChangeEvent e = buffered.get(bufferedIndex++);
                    if (offset >= next) {
                        out.add(new LogEntry(Offset.of(offset), e));
                        next = offset + 1;
                    }
                    continue;
                }
                if (!out.isEmpty() && bytes >= READ_BUDGET_BYTES) {
                    break; // bound memory by bytes too: rows can be large
                }
                if (!loadFrame()) {
                    break;
                }
                bytes += loadedFrameBytes;
            }
            return out;
        }

        private boolean loadFrame() throws IOException {
            if (segment == null) {
                Map.Entry<Long, Segment> e = segments.floorEntry(next);
                if (e == null) {
                    throw new IllegalStateException("offset " + next + " is no longer in the Log");
                }
                segment = e.getValue();
                channel = FileChannel.open(segment.path, StandardOpenOption.READ);
                bytePos = 0;
            }
            while (true) {
                long durable = segment.durableBytes;
                Frame frame = bytePos < durable ? readFrame(channel, bytePos, durable, true) : null;
                if (frame != null) {
                    bytePos += frame.totalBytes;
                    if (frame.events.isEmpty() || frame.firstOffset + frame.events.size() <= next) {
                        continue;
                    }
                    buffered = frame.events;
                    loadedFrameBytes = frame.totalBytes;
                    bufferedFirst = frame.firstOffset;
                    bufferedIndex = 0;
                    return true;
                }
                Map.Entry<Long, Segment> following = segments.higherEntry(segment.baseOffset);
                if (following == null || bytePos < segment.durableBytes) {
                    return false;
                }
                channel.close();
                segment = following.getValue();
                channel = FileChannel.open(segment.path, StandardOpenOption.READ);
                bytePos = 0;
            }
        }

        @Override
        public Offset next() {
            return Offset.of(next);
        }

        @Override
        public void close() throws IOException {
            if (channel != null) {
                channel.close();
            }
        }
    }
}
