package dev.ferry.log;

import dev.ferry.source.PositionCodec;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.BufferedInputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * One segment file of the Log and its sparse index (first offset of each frame → byte position),
 * kept in memory and in a sidecar {@code .index} file. The index is only a shortcut: it is written
 * without fsync and rebuilt from the segment whenever it is missing or does not match.
 */
final class Segment {
    final long baseOffset;
    final Path path;
    final Path indexPath;
    /** Bytes of whole, durable frames: what readers may read. */
    volatile long durableBytes;
    private TreeMap<Long, Long> index;

    Segment(long baseOffset, Path path, long durableBytes) {
        this.baseOffset = baseOffset;
        this.path = path;
        this.indexPath = path.resolveSibling(path.getFileName().toString().replace(".log", ".index"));
        this.durableBytes = durableBytes;
    }

    /** Records a frame written at {@code bytePos}, in memory; the Log writes the sidecar (not fsync'd). */
    synchronized void indexFrame(long firstOffset, long bytePos) throws IOException {
        ensureIndexInMemory();
        index.put(firstOffset, bytePos);
    }

    /** Forgets the frames from {@code firstOffset} on, in memory: an append that was undone. */
    synchronized void dropIndexFrom(long firstOffset) throws IOException {
        ensureIndexInMemory();
        index.tailMap(firstOffset, true).clear();
    }

    /**
     * Replaces the index with exactly these entries and rewrites the sidecar, fsync'd: recovery
     * rewrites it after a crash, and a second crash must not bring back the stale one.
     */
    synchronized void replaceIndex(TreeMap<Long, Long> entries) throws IOException {
        index = new TreeMap<>(entries);
        ByteBuffer bytes = ByteBuffer.allocate(16 * entries.size());
        for (Map.Entry<Long, Long> e : entries.entrySet()) {
            bytes.putLong(e.getKey()).putLong(e.getValue());
        }
        bytes.flip();
        try (FileChannel ch = FileChannel.open(indexPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (bytes.hasRemaining()) {
                ch.write(bytes);
            }
            ch.force(false);
        }
    }

    /**
     * Forgets the index after a lookup led to a place where the frame was not the one indexed (a
     * sidecar left stale by a crash): the next lookup rebuilds it from the segment itself.
     */
    synchronized void distrustIndex(PositionCodec positions, EventCodec codec) throws IOException {
        rebuild(positions, codec);
    }

    /**
     * The byte position of the frame holding {@code offset}, or of the last frame before it; 0 when
     * the index knows none. Loads the sidecar, or rebuilds it by scanning, the first time.
     */
    synchronized long bytePositionFor(long offset, PositionCodec positions, EventCodec codec) throws IOException {
        if (index == null && !loadSidecar()) {
            rebuild(positions, codec);
        }
        Map.Entry<Long, Long> e = index.floorEntry(offset);
        return e == null ? 0 : e.getValue();
    }

    private void ensureIndexInMemory() {
        if (index == null) {
            index = new TreeMap<>();
        }
    }

    /** Loads the sidecar if it is consistent with the segment's durable size. */
    private boolean loadSidecar() throws IOException {
        TreeMap<Long, Long> entries = new TreeMap<>();
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(indexPath)))) {
            long size = Files.size(indexPath);
            if (size % 16 != 0) {
                return false;
            }
            long prevOffset = -1;
            long prevPos = -1;
            for (long i = 0; i < size / 16; i++) {
                long offset = in.readLong();
                long pos = in.readLong();
                if (offset <= prevOffset || pos <= prevPos || pos >= durableBytes || offset < baseOffset) {
                    return false;
                }
                entries.put(offset, pos);
                prevOffset = offset;
                prevPos = pos;
            }
        } catch (NoSuchFileException e) {
            return false;
        }
        index = entries;
        return true;
    }

    private void rebuild(PositionCodec positions, EventCodec codec) throws IOException {
        TreeMap<Long, Long> entries = new TreeMap<>();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long at = 0;
            while (at < durableBytes) {
                Frame.Read r = Frame.read(ch, at, durableBytes, positions, codec);
                if (r.frame() == null) {
                    break; // the reader reports the damage when it gets there
                }
                if (!r.frame().events().isEmpty()) {
                    entries.put(r.frame().firstOffset(), at);
                }
                at += r.frame().totalBytes();
            }
        }
        // in memory only: a reader (perhaps of a read-only Log) never writes files
        index = entries;
    }

    void deleteFiles() throws IOException {
        Files.deleteIfExists(path);
        Files.deleteIfExists(indexPath);
    }
}
