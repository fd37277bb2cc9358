package dev.ferry.postgres;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Transactions that PostgreSQL streams while they are still in progress (pgoutput protocol 2, on
 * PostgreSQL 14+, once a transaction outgrows {@code logical_decoding_work_mem}). Ferry's Log holds
 * committed changes in commit order only, so each such transaction's messages go to a spill file of
 * its own as they arrive, and are read back, in order, when its Stream Commit comes; a Stream Abort
 * deletes the file, or voids the changes of the subtransaction it names. Memory stays bounded
 * whatever the size of a transaction; the disk holds it instead of the server's {@code pg_replslot}.
 *
 * <p>Nothing here needs to survive a restart: the server streams every transaction not committed
 * before the slot's confirmed position again, from its first message, so the files of an earlier
 * run are deleted.
 */
final class StreamedTransactions implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StreamedTransactions.class);
    private static final int BUFFER = 64 * 1024;

    /** The spill of one transaction: records of (xid of the change's (sub)transaction, message bytes). */
    private static final class Spill {
        final Path file;
        final DataOutputStream out;
        final Set<Long> abortedSubtransactions = new HashSet<>();
        long messages;
        long bytes;

        Spill(Path file) throws IOException {
            this.file = file;
            this.out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), BUFFER));
        }
    }

    /** Reads a committed transaction's messages back in order, leaving out those of aborted subtransactions. */
    static final class Replay implements AutoCloseable {
        private final Path file;
        private final DataInputStream in;
        private final Set<Long> aborted;
        private final long messages;

        private Replay(Path file, Set<Long> aborted, long messages) throws IOException {
            this.file = file;
            this.in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), BUFFER));
            this.aborted = aborted;
            this.messages = messages;
        }

        /** The next message (as the server sent it, inside a stream block), or null at the end. */
        ByteBuffer next() {
            try {
                while (true) {
                    long xid;
                    try {
                        xid = in.readLong();
                    } catch (EOFException end) {
                        return null;
                    }
                    byte[] message = new byte[in.readInt()];
                    in.readFully(message);
                    if (!aborted.contains(xid)) {
                        return ByteBuffer.wrap(message);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("reading the spilled transaction " + file + " failed", e);
            }
        }

        long messages() {
            return messages;
        }

        @Override
        public void close() {
            try {
                in.close();
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.warn("Could not delete the spilled transaction {}: {}", file, e.getMessage());
            }
        }
    }

    private final Path folder;
    private final Map<Long, Spill> open = new HashMap<>();

    /** Spills into {@code folder}, created if needed; files left there by an earlier run are deleted. */
    StreamedTransactions(Path folder) {
        this.folder = folder;
        deleteLeftovers();
    }

    /** A stream block of transaction {@code xid} begins; {@code first} for its first one. */
    void start(long xid, boolean first) {
        if (open.containsKey(xid)) {
            return;
        }
        if (!first) {
            throw new IllegalStateException("PostgreSQL streamed a later block of transaction " + xid
                    + " whose first block Ferry did not see");
        }
        try {
            Files.createDirectories(folder);
            open.put(xid, new Spill(folder.resolve("tx-" + xid + ".spill")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot spill streamed transaction " + xid + " to " + folder, e);
        }
    }

    /** Keeps one message of a stream block of transaction {@code xid}, made by (sub)transaction {@code changeXid}. */
    void append(long xid, long changeXid, ByteBuffer message) {
        Spill spill = open.get(xid);
        if (spill == null) {
            throw new IllegalStateException("a message of streamed transaction " + xid + " outside its stream block");
        }
        try {
            int length = message.remaining();
            spill.out.writeLong(changeXid);
            spill.out.writeInt(length);
            if (message.hasArray()) {
                spill.out.write(message.array(), message.arrayOffset() + message.position(), length);
            } else {
                byte[] copy = new byte[length];
                message.duplicate().get(copy);
                spill.out.write(copy);
            }
            spill.messages++;
            spill.bytes += length + 12;
        } catch (IOException e) {
            throw new UncheckedIOException("spilling streamed transaction " + xid + " to " + folder + " failed", e);
        }
    }

    /** A transaction ({@code subxid == xid}) or one of its subtransactions rolled back. */
    void abort(long xid, long subxid) {
        Spill spill = open.get(xid);
        if (spill == null) {
            return; // aborted before any of its changes were streamed
        }
        if (subxid != xid) {
            spill.abortedSubtransactions.add(subxid);
            return;
        }
        open.remove(xid);
        discard(spill);
    }

    /** The committed transaction's messages, to read once; the file goes with the replay's close. */
    Replay commit(long xid) {
        Spill spill = open.remove(xid);
        if (spill == null) {
            throw new IllegalStateException("PostgreSQL committed streamed transaction " + xid
                    + ", but Ferry holds none of its changes");
        }
        try {
            spill.out.close();
            LOG.debug("Replaying streamed transaction {}: {} messages, {} bytes", xid, spill.messages, spill.bytes);
            return new Replay(spill.file, Set.copyOf(spill.abortedSubtransactions), spill.messages);
        } catch (IOException e) {
            throw new UncheckedIOException("reading back streamed transaction " + xid + " failed", e);
        }
    }

    /** How many transactions are being spilled, for status. */
    int inProgress() {
        return open.size();
    }

    /** Deletes every spill: after a reconnect the server streams the transactions again. */
    @Override
    public void close() {
        open.values().forEach(StreamedTransactions::discard);
        open.clear();
    }

    private static void discard(Spill spill) {
        try {
            spill.out.close();
            Files.deleteIfExists(spill.file);
        } catch (IOException e) {
            LOG.warn("Could not delete the spilled transaction {}: {}", spill.file, e.getMessage());
        }
    }

    private void deleteLeftovers() {
        if (!Files.isDirectory(folder)) {
            return;
        }
        try (var files = Files.list(folder)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.getFileName().toString().endsWith(".spill"))::iterator) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            LOG.warn("Could not clear the spill folder {}: {}", folder, e.getMessage());
        }
    }
}
