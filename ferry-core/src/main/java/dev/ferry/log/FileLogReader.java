package dev.ferry.log;

import dev.ferry.event.ChangeEvent;
import dev.ferry.source.PositionCodec;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;

/**
 * Reads a {@link FileLog} forward. Sees only durable bytes of each segment; holds at most the
 * events of one frame beyond what it returns. Each event's size is how many bytes of its frame it
 * took, measured while the frame is decoded; a read stops before an event that would take its sizes
 * past its bound (an event larger than the bound comes alone). Any damage it meets is corruption (the torn tail was
 * dropped at open), so it is reported, never skipped.
 */
final class FileLogReader implements LogReader {
    private final FileLog log;
    private final NavigableMap<Long, Segment> segments;
    private final PositionCodec positions;
    private final EventCodec codec;
    private long next;
    private Segment segment;
    private FileChannel channel;
    private final Frame.Scratch scratch = new Frame.Scratch();
    private long bytePos;
    private List<ChangeEvent> buffered = List.of();
    private int[] bufferedBytes = new int[0];
    private long bufferedFirst;
    private int bufferedIndex;
    private boolean seeked;

    FileLogReader(FileLog log, NavigableMap<Long, Segment> segments, PositionCodec positions, EventCodec codec, long first) {
        this.log = log;
        this.segments = segments;
        this.positions = positions;
        this.codec = codec;
        this.next = first;
    }

    @Override
    public List<LogEntry> read(int maxEvents, long maxBytes, Offset limit) throws IOException {
        List<LogEntry> out = new ArrayList<>();
        long bytes = 0;
        while (out.size() < maxEvents && bytes < maxBytes && next < limit.value()) {
            if (bufferedIndex < buffered.size()) {
                long offset = bufferedFirst + bufferedIndex;
                int size = bufferedBytes[bufferedIndex];
                if (offset >= next && !out.isEmpty() && bytes + size > maxBytes) {
                    break; // it would pass the bound: it starts the next read (alone, if larger than the bound)
                }
                ChangeEvent e = buffered.get(bufferedIndex++);
                if (offset >= next) {
                    out.add(new LogEntry(Offset.of(offset), e, size));
                    bytes += size;
                    next = offset + 1;
                }
                continue;
            }
            if (!loadFrame()) {
                break;
            }
        }
        return out;
    }

    private boolean loadFrame() throws IOException {
        if (segment == null) {
            Map.Entry<Long, Segment> e = segments.floorEntry(next);
            if (e == null) {
                throw new IllegalStateException("offset " + next + " is no longer in the Log");
            }
            open(e.getValue());
            // From a segment's first offset read from its first byte, so the position-only frames
            // before its first indexed one are checked too: a flipped bit there would go unreported.
            bytePos = next == segment.baseOffset ? 0 : segment.bytePositionFor(next, positions, codec);
            seeked = bytePos > 0;
        }
        while (true) {
            long durable = segment.durableBytes;
            if (bytePos < durable) {
                Frame.Read r = Frame.read(channel, bytePos, durable, positions, codec, scratch);
                if (seeked && (r.frame() == null || r.frame().firstOffset() > next)) {
                    // the sidecar index pointed where no such frame starts (left stale by a crash):
                    // rebuild it from the segment and seek again, before calling anything corrupt
                    seeked = false;
                    segment.distrustIndex(positions, codec);
                    bytePos = segment.bytePositionFor(next, positions, codec);
                    continue;
                }
                seeked = false;
                if (r.frame() == null) {
                    throw log.corrupt(segment.path, bytePos, Frame.describe(r.damage()));
                }
                Frame frame = r.frame();
                bytePos += frame.totalBytes();
                if (frame.events().isEmpty() || frame.firstOffset() + frame.events().size() <= next) {
                    continue;
                }
                buffered = frame.events();
                bufferedBytes = frame.eventBytes();
                bufferedFirst = frame.firstOffset();
                bufferedIndex = 0;
                return true;
            }
            Map.Entry<Long, Segment> following = segments.higherEntry(segment.baseOffset);
            if (following == null || bytePos < segment.durableBytes) {
                return false;
            }
            open(following.getValue());
            bytePos = 0;
        }
    }

    private void open(Segment s) throws IOException {
        if (channel != null) {
            channel.close();
        }
        segment = s;
        channel = FileChannel.open(s.path, StandardOpenOption.READ);
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
