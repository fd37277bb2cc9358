package dev.ferry.log;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Row;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a Log ahead of its consumer, on a thread of its own: while a sink writes one batch, the next
 * is read from the segment files and decoded, and with {@code decodeValues} its rows' values decoded
 * too (a sink that reads values, such as DuckDB's, otherwise decodes them on its own thread, about a
 * quarter of its time there). Holds at most {@code maxEvents} events and {@code maxBytes} of them
 * (or one larger event alone) ahead, so the heap it adds is bounded like a batch's.
 *
 * <p>It reads only below the highest {@code limit} its consumer has passed to {@link #read}: the
 * consumer's limit (the Log's durable end) says what may be read, as it does for the reader it wraps.
 * A {@link #read} that finds nothing ready while events below its limit exist waits for them, at most
 * {@link #WAIT_MILLIS}: they are being read and decoded. The wrapped reader is used by this reader's thread only,
 * and closed by {@link #close} once that thread has ended.
 */
public final class ReadAheadReader implements LogReader {
    /**
     * The longest a {@link #read} waits for events below its limit that are being read: from a file
     * they come in microseconds; a Kafka Log's reader polls the brokers (100 ms at a time), and a
     * read that returned empty meanwhile would leave its caller waiting for the Log's next append.
     * Bounded so that a caller still sees a stop while the brokers are away.
     */
    static final long WAIT_MILLIS = 500;

    private final LogReader delegate;
    private final int maxEvents;
    private final long maxBytes;
    private final boolean decodeValues;
    private final Thread thread;

    // guarded by this
    private final ArrayDeque<LogEntry> ready = new ArrayDeque<>();
    private long readyBytes;
    /** The highest limit the consumer has asked for: the thread reads below it. */
    private long wanted;
    /** The offset the wrapped reader reads next. */
    private long ahead;
    /** The offset the consumer's next read starts at. */
    private long next;
    private Exception failure;
    private boolean closed;

    /**
     * @param delegate     the reader to read ahead of; from now on used by this reader's thread only
     * @param maxEvents    the most events held ahead
     * @param maxBytes     the most bytes ({@link LogEntry#bytes()}) held ahead, beyond which one event may go alone
     * @param decodeValues whether to decode the rows' values ahead too (for consumers that read them)
     * @param name         the thread's name
     */
    public ReadAheadReader(LogReader delegate, int maxEvents, long maxBytes, boolean decodeValues, String name) {
        if (maxEvents < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("maxEvents " + maxEvents + ", maxBytes " + maxBytes);
        }
        this.delegate = delegate;
        this.maxEvents = maxEvents;
        this.maxBytes = maxBytes;
        this.decodeValues = decodeValues;
        this.next = delegate.next().value();
        this.ahead = next;
        this.wanted = next;
        this.thread = new Thread(this::readAhead, name);
        thread.setDaemon(true);
        thread.start();
    }

    private void readAhead() {
        try {
            while (true) {
                long limit;
                int events;
                long bytes;
                synchronized (this) {
                    while (!closed && (ahead >= wanted || ready.size() >= maxEvents || readyBytes >= maxBytes)) {
                        wait();
                    }
                    if (closed) {
                        return;
                    }
                    limit = wanted;
                    events = maxEvents - ready.size();
                    bytes = maxBytes - readyBytes;
                }
                List<LogEntry> read = delegate.read(events, bytes, Offset.of(limit));
                long readBytes = 0;
                for (LogEntry e : read) {
                    readBytes += e.bytes();
                    if (decodeValues) {
                        decode(e.event());
                    }
                }
                synchronized (this) {
                    ready.addAll(read);
                    readyBytes += readBytes;
                    ahead = delegate.next().value();
                    notifyAll();
                    if (read.isEmpty() && !closed) {
                        wait(1); // below the limit yet nothing to read: look again in a moment, not in a spin
                    }
                }
            }
        } catch (Exception | Error e) {
            synchronized (this) {
                failure = e instanceof Exception ex ? ex : new IOException("reading the Log ahead failed: " + e, e);
                notifyAll();
            }
            if (e instanceof Error error && !(e instanceof OutOfMemoryError)) {
                throw error;
            }
        }
    }

    /** Decodes the rows' values now, on this thread, instead of in the consumer's first {@link Row#get}. */
    private static void decode(ChangeEvent event) {
        if (event.after() != null && event.after().size() > 0) {
            event.after().get(0);
        }
        if (event.before() != null && event.before().size() > 0) {
            event.before().get(0);
        }
    }

    @Override
    public synchronized List<LogEntry> read(int maxEvents, long maxBytes, Offset limit) throws IOException {
        if (closed) {
            throw new IOException("this reader is closed");
        }
        long end = limit.value();
        if (end > wanted) {
            wanted = end;
            notifyAll();
        }
        long deadline = System.nanoTime() + WAIT_MILLIS * 1_000_000;
        while (ready.isEmpty() && failure == null && next < end) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while the Log was read ahead");
            }
        }
        if (ready.isEmpty() && failure != null) {
            throw failure instanceof IOException io ? io : new IOException("reading the Log ahead failed: " + failure, failure);
        }
        List<LogEntry> out = new ArrayList<>(Math.min(maxEvents, ready.size()));
        long bytes = 0;
        while (out.size() < maxEvents && !ready.isEmpty()) {
            LogEntry e = ready.peekFirst();
            if (e.offset().value() >= end || !out.isEmpty() && bytes + e.bytes() > maxBytes) {
                break;
            }
            out.add(ready.pollFirst());
            bytes += e.bytes();
        }
        if (!out.isEmpty()) {
            readyBytes -= bytes;
            next = out.get(out.size() - 1).offset().value() + 1;
            notifyAll();
        }
        return out;
    }

    @Override
    public synchronized Offset next() {
        return Offset.of(next);
    }

    /** Stops the reading thread, waits for it to end, then closes the wrapped reader. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true; // the wrapped reader may be closed only once the thread no longer uses it
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        delegate.close();
    }
}
