package dev.ferry.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.ConfigLoader;
import dev.ferry.config.Setting;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.source.SourceInfo;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SinkSettingsTest {
    private static final SinkFactory TYPE = new SinkFactory() {
        @Override
        public String type() {
            return "y";
        }

        @Override
        public List<Setting<?>> settings() {
            return List.of();
        }

        @Override
        public Sink create(String pipelineName, ComponentConfig config, SourceInfo source) {
            throw new UnsupportedOperationException();
        }
    };

    private static SinkSettings read(String sinkKeys) throws FerryException {
        ComponentConfig sink = ConfigLoader.parse("name: p\nsource: {type: x}\nsink:\n  type: y\n" + sinkKeys,
                "pipeline.yaml", Path.of("/tmp"), n -> null).sinks().get(0);
        return SinkSettings.read(sink, TYPE);
    }

    @Test
    void batchBytesIs32MibByDefaultAndReadWhenGiven() throws Exception {
        assertThat(read("").batchBytes()).isEqualTo(32 * 1024 * 1024);
        assertThat(read("  batch_bytes: 1048576\n").batchBytes()).isEqualTo(1_048_576);
        assertThat(read("  batch_bytes: 1024\n").batchBytes()).isEqualTo(1024);
        assertThat(read("  batch_bytes: 1073741824\n").batchBytes()).isEqualTo(1 << 30);
    }

    @Test
    void batchBytesOutsideItsRangeIsAConfigErrorNamingKeyAndLine() {
        for (String bad : List.of("1023", "1073741825", "0", "-5", "32MB")) {
            assertThatThrownBy(() -> read("  batch_bytes: " + bad + "\n"))
                    .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG))
                    .hasMessageContaining("pipeline.yaml line 5")
                    .hasMessageContaining("batch_bytes")
                    .hasMessageContaining("from 1024 to 1073741824, got \"" + bad + "\"");
        }
    }
}
