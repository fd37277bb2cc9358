package dev.ferry.postgres;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
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
 * <p>Hooked in through pgjdbc's {@code socketFactory} property: pgjdbc creates the {@link Factory}
 * with the connection's properties, which carry a token; the sockets it makes are filed under that
 * token, and {@link #open} moves the last one (the connection's) to its connection.
 */
final class ObservedSockets {
    /** The connection property that carries the token. */
    static final String TOKEN = "ferrySocketToken";

    private static final Map<String, Socket> MADE = new ConcurrentHashMap<>();
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
        Socket s = MADE.remove(token);
        if (s != null) {
            OF.put(connection, s);
        }
    }

    /** Forgets a token whose connection was not opened. */
    static void forget(String token) {
        MADE.remove(token);
    }

    /** The socket under {@code connection}, or null when it was not opened through {@link #observe}. */
    static Socket of(Connection connection) {
        return OF.get(connection);
    }

    /** Instantiated by pgjdbc, once per connection attempt, with the connection's properties. */
    public static final class Factory extends SocketFactory {
        private final String token;

        public Factory(Properties properties) {
            this.token = properties.getProperty(TOKEN);
        }

        private Socket file(Socket s) {
            if (token != null) {
                MADE.put(token, s); // the connection's socket is the last one made (after failed attempts)
            }
            return s;
        }

        @Override
        public Socket createSocket() {
            return file(new Socket());
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return file(new Socket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return file(new Socket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return file(new Socket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                throws IOException {
            return file(new Socket(address, port, localAddress, localPort));
        }
    }
}
