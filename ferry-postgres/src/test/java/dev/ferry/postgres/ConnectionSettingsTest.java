package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ComponentConfig;
import dev.ferry.error.FerryException;
import org.junit.jupiter.api.Test;

class ConnectionSettingsTest {
    private static ConnectionSettings read(String extra) throws FerryException {
        return ConnectionSettings.read("shop", ComponentConfig.ofYaml("source",
                "type: postgres\nhost: db.internal\nport: 5433\ndatabase: shop\nuser: ferry\n" + extra));
    }

    @Test
    void aReplicaTakesEverythingButItsAddressFromTheSource() throws FerryException {
        ConnectionSettings s = read("snapshot_replica: standby.internal:6432\n");
        ConnectionSettings replica = s.replicaSettings();
        assertThat(replica.address()).isEqualTo("standby.internal:6432/shop");
        assertThat(replica.user()).isEqualTo("ferry");
        assertThat(replica.replicaSettings()).isNull();
        assertThat(read("snapshot_replica: '[::1]:5432'\n").replicaSettings().host()).isEqualTo("::1");
        assertThat(read("").replicaSettings()).as("no replica: the source itself").isNull();
    }

    @Test
    void aReplicaWithoutAPortIsAConfigErrorThatNamesTheKey() {
        for (String bad : new String[] {"standby.internal", "standby.internal:", ":5432", "standby:99999", "standby:x"}) {
            assertThatThrownBy(() -> read("snapshot_replica: '" + bad + "'\n")).isInstanceOf(FerryException.class)
                    .hasMessageContaining("snapshot_replica").hasMessageContaining("must be host:port");
        }
    }

    @Test
    void snapshotsAreAdaptiveAndReadOnTwoConnectionsByDefault() throws FerryException {
        ConnectionSettings s = read("");
        assertThat(s.adaptiveSnapshot()).isTrue();
        assertThat(s.snapshotReaders()).isEqualTo(2);
        assertThat(read("snapshot_adaptive: false\nsnapshot_readers: 4\n").snapshotReaders()).isEqualTo(4);
    }

    @Test
    void chunksAreSmallWhenPacedAndBigWhenNotUnlessSet() throws FerryException {
        assertThat(read("").chunkRows()).as("adaptive by default").isEqualTo(ConnectionSettings.PACED_CHUNK_ROWS);
        assertThat(read("snapshot_adaptive: false\nsnapshot_max_rows_per_second: 50000\n").chunkRows())
                .as("a fixed cap paces too").isEqualTo(ConnectionSettings.PACED_CHUNK_ROWS);
        assertThat(read("snapshot_adaptive: false\n").chunkRows()).isEqualTo(ConnectionSettings.UNPACED_CHUNK_ROWS);
        assertThat(read("snapshot_adaptive: false\nsnapshot_chunk_rows: 1000\n").chunkRows()).isEqualTo(1000);
        assertThat(read("snapshot_chunk_rows: 30000\n").chunkRows()).isEqualTo(30000);
    }
}
