package dev.ferry.postgres;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.util.Collections;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.SocketFactory;

/**
 * Keeps hold of the socket under a replication connection, so that the change stream can ask it
 * whether bytes have arrived before asking pgjdbc. pgjdbc's non-blocking {@code readPending()},
 * when nothing has arrived, sets a 1 ms socket timeout and waits for it to throw (a timed read, a
 * {@code SocketTimeoutException} with its stack trace, two {@code setSoTimeout} calls): most of the
 * capture thread's time while a stream trickles. The socket's {@code available()} is one cheap
 * system call. With TLS it counts encrypted bytes, which still says whether to read.
 *
 * <p>The socket also answers that timed read itself: pgjdbc's "is anything pending" check is the
 * only read with a 1 ms timeout, and when the kernel holds no bytes the socket throws at once a
 * timeout without a stack trace (no wait) instead of waiting the millisecond. pgjdbc takes it as
 * "nothing pending", as it would have after the wait. Other reads, and any read while bytes are
 * there, are the socket's own. Not under TLS ({@link #stopPeeking}).
 *
 * <p>While nothing has arrived, the change stream waits on the socket itself ({@link
 * PeekingSocket#awaitBytes}): one timed read that the kernel wakes when the server's bytes come,
 * which are then held for pgjdbc's reads. Asking "anything yet?" every half millisecond instead
 * (a park and an {@code available()} each time) was most of the capture thread's CPU beside a busy
 * source. Under TLS the held bytes are encrypted ones, read through by the TLS layer as any others.
 *
 * <p>Hooked in through pgjdbc's {@code socketFactory} property: pgjdbc creates the {@link Factory}
 * with the connection's properties, which carry a token; the sockets it makes are filed under that
 * token, and {@link #attach} moves the last one (the connection's) to its connection.
 */
final class ObservedSockets {
    /** The connection property that carries the token. */
    static final String TOKEN = "ferrySocketToken";

    /** The factories of connections being opened, by token, until {@link #attach} or {@link #forget}. */
    private static final Map<String, Factory> OPENING = new ConcurrentHashMap<>();
    private static final Map<Connection, Socket> OF = Collections.synchronizedMap(new WeakHashMap<>());

    private ObservedSockets() {
    }

    /** Makes {@code properties} open the connection on an observed socket; returns the token to {@link #attach}. */
    static String observe(Properties properties) {
        String token = UUID.randomUUID().toString();
        properties.setProperty(org.postgresql.PGProperty.SOCKET_FACTORY.getName(), Factory.class.getName());
        properties.setProperty(TOKEN, token);
        return token;
    }

    /** Files the socket made for {@code token} under the connection opened with it. */
    static void attach(String token, Connection connection) {
        Factory f = OPENING.remove(token);
        if (f != null && f.last != null) {
            OF.put(connection, f.last);
        }
    }

    /** Forgets a token whose connection was not opened. */
    static void forget(String token) {
        OPENING.remove(token);
    }

    /**
     * Stops answering pgjdbc's 1 ms reads on the connection's socket: under TLS those reads go through
     * the JDK's record layer, which must not be told "nothing yet" in the middle of a record.
     */
    static void stopPeeking(Connection connection) {
        if (OF.get(connection) instanceof PeekingSocket p) {
            p.peeking = false;
        }
    }

    /** The socket under {@code connection}, or null when it was not opened through {@link #observe}. */
    static Socket of(Connection connection) {
        return OF.get(connection);
    }

    /** Instantiated by pgjdbc, once per connection attempt, with the connection's properties. */
    public static final class Factory extends SocketFactory {
        /**
         * The last socket made: the connection's, after failed attempts. pgjdbc keeps the factory for
         * cancel requests, whose sockets land here too, after {@link #attach} has taken the connection's.
         */
        private volatile Socket last;

        public Factory(Properties properties) {
            String token = properties.getProperty(TOKEN);
            if (token != null) {
                OPENING.put(token, this);
            }
        }

        private Socket file(Socket s) {
            last = s;
            return s;
        }

        @Override
        public Socket createSocket() {
            return file(new PeekingSocket());
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return connected(new InetSocketAddress(host, port), null);
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return connected(new InetSocketAddress(host, port), new InetSocketAddress(localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return connected(new InetSocketAddress(host, port), null);
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                throws IOException {
            return connected(new InetSocketAddress(address, port), new InetSocketAddress(localAddress, localPort));
        }

        private Socket connected(InetSocketAddress remote, InetSocketAddress local) throws IOException {
            Socket s = file(new PeekingSocket());
            if (local != null) {
                s.bind(local);
            }
            s.connect(remote);
            return s;
        }
    }

    /**
     * A socket whose 1 ms timed reads do not wait when no bytes are there (see the class comment), and
     * that can wait for the server's next bytes in the kernel ({@link #awaitBytes}).
     */
    static final class PeekingSocket extends Socket {
        /** The timeout pgjdbc sets for its "is anything pending" read, and for nothing else. */
        static final int PEEK_TIMEOUT_MILLIS = 1;
        /** How long an {@code available()} of 0 answers pgjdbc's 1 ms read that follows it. */
        private static final long JUST_ASKED_NANOS = 50_000L;

        private volatile int timeoutMillis;
        private volatile boolean peeking = true;
        private InputStream raw;
        private HeldInputStream in;

        @Override
        public synchronized void setSoTimeout(int timeout) throws SocketException {
            super.setSoTimeout(timeout);
            timeoutMillis = timeout;
        }

        @Override
        public synchronized InputStream getInputStream() throws IOException {
            if (in == null) {
                raw = super.getInputStream();
                in = new HeldInputStream(raw);
            }
            return in;
        }

        /**
         * Waits up to {@code millis} (at least 1) for bytes from the server: one read that the kernel
         * wakes when they arrive, not a poll loop. What it reads is held for pgjdbc's next reads.
         *
         * @return whether bytes (or the end of the stream) are there to read
         */
        boolean awaitBytes(int millis) throws IOException {
            HeldInputStream held = (HeldInputStream) getInputStream();
            if (held.holding()) {
                return true;
            }
            // no "anything there?" first: the timed read tries a plain read before it waits
            int before = timeoutMillis;
            super.setSoTimeout(Math.max(1, millis)); // the JDK's socket keeps it in Java: no system call
            try {
                return held.fill();
            } catch (SocketTimeoutException nothing) {
                return false;
            } finally {
                super.setSoTimeout(before);
            }
        }

        /** The socket's stream, with the bytes {@link #awaitBytes} read served first. */
        private final class HeldInputStream extends FilterInputStream {
            private final byte[] held = new byte[16 * 1024];
            private int from;
            private int to;
            private boolean ended;
            /**
             * When {@link #available} last found nothing. pgjdbc asks it, and on "nothing" makes its 1 ms
             * read at once: that read is answered from this answer, without asking the kernel again
             * (every system call counts beside a busy source). Bytes that arrive meanwhile are read
             * by the change stream's next wait, which reads before it waits.
             */
            private long emptyAtNanos = System.nanoTime() - JUST_ASKED_NANOS;

            HeldInputStream(InputStream raw) {
                super(raw);
            }

            boolean holding() {
                return from < to || ended;
            }

            /** One blocking read (under the socket's timeout) into the empty hold. */
            boolean fill() throws IOException {
                int n = super.read(held, 0, held.length);
                if (n < 0) {
                    ended = true;
                } else {
                    from = 0;
                    to = n;
                }
                return true;
            }

            @Override
            public int read() throws IOException {
                if (from < to) {
                    return held[from++] & 0xff;
                }
                if (ended) {
                    return -1;
                }
                peek();
                return super.read();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                if (from < to) {
                    int n = Math.min(len, to - from);
                    System.arraycopy(held, from, b, off, n);
                    from += n;
                    return n;
                }
                if (ended) {
                    return -1;
                }
                peek();
                return super.read(b, off, len);
            }

            @Override
            public int available() throws IOException {
                if (from < to) {
                    return to - from;
                }
                int n = super.available();
                if (n == 0) {
                    emptyAtNanos = System.nanoTime();
                }
                return n;
            }

            @Override
            public long skip(long n) throws IOException {
                if (from < to) {
                    int k = (int) Math.min(n, to - from);
                    from += k;
                    return k;
                }
                return super.skip(n);
            }

            @Override
            public boolean markSupported() {
                return false;
            }

            private void peek() throws IOException {
                if (peeking && timeoutMillis == PEEK_TIMEOUT_MILLIS
                        && (System.nanoTime() - emptyAtNanos < JUST_ASKED_NANOS || raw.available() == 0)) {
                    throw new NothingYet();
                }
            }
        }
    }

    /** "Nothing has arrived": thrown often, so without a stack trace. */
    private static final class NothingYet extends SocketTimeoutException {
        NothingYet() {
            super("nothing pending");
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }
}
