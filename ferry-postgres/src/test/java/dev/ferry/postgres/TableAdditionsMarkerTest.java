package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TableAdditionsMarkerTest {
    @Test
    void aMarkerRoundTrips() {
        TableAdditions.Marker m = new TableAdditions.Marker("id-1", List.of(16384L, 4294967295L));
        assertThat(TableAdditions.Marker.parse(m.format().getBytes(StandardCharsets.UTF_8))).contains(m);
    }

    @Test
    void anythingElseIsNotAMarker() {
        for (String text : List.of("", "garbage", "add-tables x", "add-tables x 1,abc", "add-tables x 1 2",
                "snapshot-low x", "add-tables x ,")) {
            assertThat(TableAdditions.Marker.parse(text.getBytes(StandardCharsets.UTF_8))).as(text).isEqualTo(Optional.empty());
        }
    }
}
