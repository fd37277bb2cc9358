package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ComponentConfig;
import dev.ferry.testkit.PrivatePostgresTest;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Properties;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.junit.jupiter.api.Test;

/**
 * The socket under a replication connection, which the change stream asks whether bytes arrived:
 * it is the connection's own (it carries the session), and a regular connection has none.
 */
class ObservedSocketsIT extends PrivatePostgresTest {
    @Test
    void aReplicationConnectionIsOpenedOnASocketTheChangeStreamCanAsk() throws Exception {
        PostgresConnections connections = new PostgresConnections(ConnectionSettings.read("obs", ComponentConfig.ofYaml(
                "source", "type: postgres\nhost: " + pg.host() + "\nport: " + pg.port() + "\ndatabase: postgres\nuser: "
                        + pg.user() + "\npassword: '" + pg.password() + "'\n")));
        try (Connection replication = connections.replication(); Connection regular = connections.regular()) {
            Socket socket = ObservedSockets.of(replication);
            assertThat(socket).isNotNull();
            assertThat(socket.isConnected()).isTrue();
            assertThat(socket.getPort()).isEqualTo(pg.port());
            assertThat(ObservedSockets.of(regular)).isNull();
            assertThat(socket.getInputStream().available()).as("nothing sent while the session is idle").isZero();
            try (Statement s = replication.createStatement(); ResultSet rs = s.executeQuery("IDENTIFY_SYSTEM")) {
                assertThat(rs.next()).isTrue();
            }
            assertThat(socket.getInputStream().available()).as("the answer was read by the driver").isZero();

            // pgjdbc's "anything pending?" read: 1 ms timeout, nothing there
            int timeout = socket.getSoTimeout();
            socket.setSoTimeout(1);
            assertThatThrownBy(() -> socket.getInputStream().read(new byte[16], 0, 16))
                    .isInstanceOf(SocketTimeoutException.class);
            socket.setSoTimeout(timeout);
            try (Statement s = replication.createStatement(); ResultSet rs = s.executeQuery("IDENTIFY_SYSTEM")) {
                assertThat(rs.next()).as("the session is intact").isTrue();
            }
        }
    }

    @Test
    void aWaitForBytesReturnsWhenTheServerSendsAndHandsTheBytesToTheDriver() throws Exception {
        Properties p = new Properties();
        p.setProperty("user", pg.user());
        p.setProperty("password", pg.password());
        String token = ObservedSockets.observe(p);
        try (Connection listening = DriverManager.getConnection(pg.jdbcUrl("postgres"), p);
             Connection other = DriverManager.getConnection(pg.jdbcUrl("postgres"), pg.user(), pg.password())) {
            ObservedSockets.attach(token, listening);
            ObservedSockets.PeekingSocket socket = (ObservedSockets.PeekingSocket) ObservedSockets.of(listening);
            try (Statement s = listening.createStatement()) {
                s.execute("LISTEN ferry_wake");
            }
            assertThat(socket.awaitBytes(20)).as("nothing sent: the wait times out").isFalse();

            try (Statement s = other.createStatement()) {
                s.execute("NOTIFY ferry_wake, 'first'");
            }
            assertThat(socket.awaitBytes(30_000)).as("the notification wakes the wait").isTrue();
            assertThat(socket.getInputStream().available()).as("the bytes read are held for the driver").isPositive();
            PGNotification[] got = listening.unwrap(PGConnection.class).getNotifications(10_000);
            assertThat(got).extracting(PGNotification::getParameter).containsExactly("first");
            assertThat(socket.awaitBytes(1)).as("all of them taken").isFalse();

            try (Statement s = listening.createStatement(); ResultSet rs = s.executeQuery("SELECT 41 + 1")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).as("the session is intact").isEqualTo(42);
            }
        }
    }
}
