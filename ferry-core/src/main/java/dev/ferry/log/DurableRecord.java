package dev.ferry.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * A small record rewritten often (a sink's committed offset, a snapshot's progress), durably and
 * without making a file each time. Replacing a file (write a temporary one, rename it over) allocates
 * an inode per write and frees one, and ext4 looks for a free inode past the recently freed ones
 * every time: at a hundred writes a second, most of the writer's CPU went into that search.
 *
 * <p>Here two slot files beside each other, {@code NAME.a} and {@code NAME.b}, are written in turn, in
 * place, and fdatasync'd. Each holds one header line, {@code ferry-record 1 SEQUENCE LENGTH CRC32C},
 * then the payload; the valid slot with the higher sequence is the record. A crash in the middle of a
 * write tears only the slot being written, and the other one still holds the record before it. The
 * payload stays readable with {@code tail -n +2 NAME.a}.
 *
 * <p>Before the first write, a whole file {@code NAME} (the earlier way of keeping it) is read as the
 * record; the first write removes it.
 *
 * <p>One writer; not thread-safe. Readers in other processes may open it at any time: a slot caught in
 * the middle of its rewrite is read again.
 */
public final class DurableRecord implements AutoCloseable {
    private static final String MAGIC = "ferry-record 1 ";
    private static final int READ_ATTEMPTS = 5;

    private final Path dir;
    private final Path legacy;
    private final Path[] slots;
    private final FileChannel[] channels = new FileChannel[2];
    private byte[] current;
    private long sequence;
    /** The slot holding the current record, or -1. */
    private int currentSlot = -1;
    /** Whether the legacy whole file is known to be gone (it is removed at the first write). */
    private boolean legacyGone;

    private DurableRecord(Path dir, String name) {
        this.dir = dir;
        this.legacy = dir.resolve(name);
        this.slots = new Path[] {dir.resolve(name + ".a"), dir.resolve(name + ".b")};
    }

    /**
     * Opens the record {@code name} in {@code dir} and reads it.
     *
     * @throws IOException when both slots hold something and neither is a whole record (damage, not a
     *                     write cut short: a write never touches the slot of the record before it)
     */
    public static DurableRecord open(Path dir, String name) throws IOException {
        // another process (ferry status, ferry snapshot --follow) may read while the owner rewrites a
        // slot in place: what looks damaged, or a legacy file that vanished, is read again a moment later
        for (int attempt = 1; ; attempt++) {
            DurableRecord r = new DurableRecord(dir, name);
            try {
                r.load();
                return r;
            } catch (IOException e) {
                if (attempt == READ_ATTEMPTS) {
                    throw e;
                }
            }
            try {
                Thread.sleep(20L * attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while reading " + dir.resolve(name));
            }
        }
    }

    private void load() throws IOException {
        scan();
        if (currentSlot < 0 && Files.exists(legacy)) {
            try {
                current = Files.readAllBytes(legacy);
                legacyGone = false;
                return;
            } catch (NoSuchFileException e) {
                // removed by the first write to the slots since they were looked at
            }
        }
        if (currentSlot < 0) {
            scan(); // the slots may have been written meanwhile
        }
    }

    private void scan() throws IOException {
        int damaged = 0;
        for (int i = 0; i < 2; i++) {
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(slots[i]);
            } catch (NoSuchFileException e) {
                continue;
            }
            if (bytes.length == 0) {
                continue; // created, never written
            }
            Slot s = parse(bytes);
            if (s == null) {
                damaged++;
            } else if (currentSlot < 0 || s.sequence > sequence) {
                current = s.payload;
                sequence = s.sequence;
                currentSlot = i;
            }
        }
        if (currentSlot < 0 && damaged == 2) {
            throw new IOException("both copies of " + legacy + " (" + slots[0].getFileName() + ", "
                    + slots[1].getFileName() + ") are damaged");
        }
    }

    private record Slot(long sequence, byte[] payload) {
    }

    /** The slot's record, or null when it is not a whole one. */
    private static Slot parse(byte[] bytes) {
        int nl = 0;
        while (nl < bytes.length && bytes[nl] != '\n') {
            nl++;
        }
        if (nl == bytes.length) {
            return null;
        }
        String header = new String(bytes, 0, nl, StandardCharsets.US_ASCII);
        if (!header.startsWith(MAGIC)) {
            return null;
        }
        String[] f = header.substring(MAGIC.length()).split(" ");
        if (f.length != 3) {
            return null;
        }
        try {
            long sequence = Long.parseLong(f[0]);
            int length = Integer.parseInt(f[1]);
            long crc = Long.parseLong(f[2], 16);
            if (length != bytes.length - nl - 1) {
                return null;
            }
            byte[] payload = Arrays.copyOfRange(bytes, nl + 1, bytes.length);
            return crc(payload) == crc ? new Slot(sequence, payload) : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static long crc(byte[] payload) {
        CRC32C c = new CRC32C();
        c.update(payload);
        return c.getValue();
    }

    /** The record, or empty when none was ever written. */
    public Optional<byte[]> read() {
        return Optional.ofNullable(current).map(byte[]::clone);
    }

    /** Makes {@code payload} the record, durably, before it returns. */
    public void write(byte[] payload) throws IOException {
        int slot = currentSlot == 0 ? 1 : 0;
        FileChannel ch = channel(slot);
        byte[] header = (MAGIC + (sequence + 1) + " " + payload.length + " " + Long.toHexString(crc(payload)) + "\n")
                .getBytes(StandardCharsets.US_ASCII);
        ByteBuffer buf = ByteBuffer.allocate(header.length + payload.length).put(header).put(payload).flip();
        long at = 0;
        while (buf.hasRemaining()) {
            at += ch.write(buf, at);
        }
        ch.truncate(at);
        ch.force(false);
        sequence++;
        currentSlot = slot;
        current = payload.clone();
        if (!legacyGone) {
            if (Files.deleteIfExists(legacy)) {
                DurableFiles.syncFolder(dir);
            }
            legacyGone = true;
        }
    }

    private FileChannel channel(int slot) throws IOException {
        if (channels[slot] == null) {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                if (dir.toAbsolutePath().getParent() != null) {
                    DurableFiles.syncFolder(dir.toAbsolutePath().getParent());
                }
            }
            channels[slot] = FileChannel.open(slots[slot], StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            // the slot's entry survives a power cut, also when an earlier run crashed right after creating it
            DurableFiles.syncFolder(dir);
        }
        return channels[slot];
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (int i = 0; i < 2; i++) {
            if (channels[i] != null) {
                try {
                    channels[i].close();
                } catch (IOException e) {
                    first = first == null ? e : first;
                }
                channels[i] = null;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
