package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigReferenceTest {
    private static final Path DOC = Path.of("..", "docs", "configuration.md");

    @Test
    void docsConfigurationMatchesTheDeclaredSettings() throws Exception {
        String rendered = ConfigReference.render();
        if (Boolean.getBoolean("ferry.docs.update")) {
            Files.writeString(DOC, rendered);
        }
        assertThat(rendered).contains("## source: type: postgres").contains("| `database` | string | required |")
                .contains("## sink: type: jsonl");
        assertThat(Files.exists(DOC) ? Files.readString(DOC) : "")
                .as("docs/configuration.md is stale; regenerate it with -Dferry.docs.update=true (see its header)")
                .isEqualTo(rendered);
    }
}
