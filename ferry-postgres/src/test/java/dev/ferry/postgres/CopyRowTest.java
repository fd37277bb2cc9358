package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Rows of COPY's text format, as PostgreSQL writes them, become each value's text as a query's
 * text-format result carries it. The inputs are what the server sends (the escapes it writes:
 * {@code \b \f \n \r \t \v \\}), plus the octal and hex escapes the format also defines.
 */
class CopyRowTest {
    private static List<String> fields(String row, int columns) {
        CopyRow r = new CopyRow();
        r.read(row.getBytes(StandardCharsets.UTF_8), columns);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < columns; i++) {
            out.add(r.string(i));
        }
        return out;
    }

    @Test
    void splitsAtTabsAndReadsTheBackslashNAloneAsNull() {
        assertThat(fields("1\tcafé\t\\N\n", 3)).containsExactly("1", "café", null);
        assertThat(fields("\t\n", 2)).containsExactly("", "");
        assertThat(fields("\\N\n", 1)).containsExactly((String) null);
        // a backslash and an N in the value itself come escaped: not null
        assertThat(fields("\\\\N\n", 1)).containsExactly("\\N");
    }

    @Test
    void unescapesWhatTheServerEscapes() {
        assertThat(fields("a\\tb\\nc\\rd\\\\e\\bf\\fg\\vh\n", 1)).containsExactly("a\tb\nc\rd\\e\bf\fg\u000Bh");
        // bytea's hex output: its backslash is doubled
        assertThat(fields("\\\\x00ff\n", 1)).containsExactly("\\x00ff");
    }

    @Test
    void unescapesOctalAndHexBytesAndAnyOtherCharacterAsItself() {
        assertThat(fields("\\101\\7\\x41\\x4\\xg\\q\n", 1)).containsExactly("A\u0007A\u0004xgq");
    }

    @Test
    void aRowOfNoColumnsIsAnEmptyLine() {
        CopyRow r = new CopyRow();
        r.read("\n".getBytes(StandardCharsets.UTF_8), 0);
        assertThat(fields("\n", 1)).containsExactly("");
    }

    @Test
    void fieldsPointIntoTheRowsBytes() {
        CopyRow r = new CopyRow();
        byte[] row = "ab\tc\\td\n".getBytes(StandardCharsets.UTF_8);
        r.read(row, 2);
        assertThat(r.bytes()).isSameAs(row);
        assertThat(new String(r.bytes(), r.start(1), r.length(1), StandardCharsets.UTF_8)).isEqualTo("c\td");
        assertThat(r.isNull(0)).isFalse();
    }

    @Test
    void aRowWithOtherThanTheQuerysColumnsIsRefused() {
        assertThatThrownBy(() -> fields("1\t2\n", 1)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("more fields");
        assertThatThrownBy(() -> fields("1\n", 2)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("has 1 fields");
        assertThatThrownBy(() -> new CopyRow().read("x\n".getBytes(StandardCharsets.UTF_8), 0))
                .isInstanceOf(IllegalStateException.class);
    }
}
