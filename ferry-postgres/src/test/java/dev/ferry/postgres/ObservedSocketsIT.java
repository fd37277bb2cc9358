package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ComponentConfig;
import dev.ferry.testkit.PrivatePostgresTest;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
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
}
