package dev.ferry.pipeline;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ConfigLoader;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class PipelineAssemblyTest {
    private static void create(String log) throws FerryException {
        PipelineAssembly.create(ConfigLoader.parse("name: p\nsource: {type: x}\nsink: {type: y}\n" + log, "pipeline.yaml",
                Path.of("/tmp"), n -> null));
    }

    @Test
    void anUnknownLogTypeNamesTheTypesThereAre() {
        assertThatThrownBy(() -> create("log:\n  type: nope\n")).isInstanceOf(FerryException.class)
                .hasMessageContaining("pipeline.yaml line 5: log.type is \"nope\"")
                .hasMessageContaining("Log types available: file.")
                .satisfies(e -> org.assertj.core.api.Assertions.assertThat(((FerryException) e).kind())
                        .isEqualTo(ErrorKind.CONFIG));
    }

    @Test
    void theFileLogsKeysAreCheckedWithoutAType() {
        assertThatThrownBy(() -> create("log:\n  segment_mbb: 8\n")).hasMessageContaining("unknown key log.segment_mbb");
    }
}
