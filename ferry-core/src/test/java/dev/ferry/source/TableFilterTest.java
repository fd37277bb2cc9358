package dev.ferry.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.TableId;
import java.util.List;
import org.junit.jupiter.api.Test;

class TableFilterTest {
    @Test
    void anEmptyListCapturesEveryTable() {
        TableFilter f = TableFilter.parse(List.of(), "public");
        assertThat(f.everyTable()).isTrue();
        assertThat(f.matches(new TableId("any", "thing"))).isTrue();
        assertThat(f).hasToString("every table");
    }

    @Test
    void namesAreExactAndCaseSensitive() {
        TableFilter f = TableFilter.parse(List.of("public.orders", "customers", "\"Sales\".\"Order Items\""), "public");
        assertThat(f.names()).containsExactly(new TableId("public", "orders"), new TableId("public", "customers"),
                new TableId("Sales", "Order Items"));
        assertThat(f.hasPatterns()).isFalse();
        assertThat(f.matches(new TableId("public", "orders"))).isTrue();
        assertThat(f.matches(new TableId("public", "Orders"))).isFalse();
        assertThat(f.matches(new TableId("public", "orders2"))).isFalse();
    }

    @Test
    void starsOutsideQuotesArePatterns() {
        TableFilter f = TableFilter.parse(List.of("sales.order_*", "*.audit", "\"we*rd\".t"), "public");
        assertThat(f.names()).containsExactly(new TableId("we*rd", "t"));
        assertThat(f.hasPatterns()).isTrue();
        assertThat(f.matches(new TableId("sales", "order_2027"))).isTrue();
        assertThat(f.matches(new TableId("sales", "order_"))).isTrue();
        assertThat(f.matches(new TableId("sales", "orders"))).isFalse();
        assertThat(f.matches(new TableId("x.y", "audit"))).isTrue();
        assertThat(f.matches(new TableId("we*rd", "t"))).isTrue();
        assertThat(f.matches(new TableId("weird", "t"))).isFalse();
        assertThat(f).hasToString("[we*rd.t, sales.order_*, *.audit]");
    }

    @Test
    void patternCharactersOtherThanTheStarAreLiteral() {
        TableFilter f = TableFilter.parse(List.of("public.a.b*", "public.[x]*"), "public");
        assertThat(f.matches(new TableId("public", "[x]1"))).isTrue();
        assertThat(f.matches(new TableId("public", "x1"))).isFalse();
        assertThat(f.matches(new TableId("public", "a.b1"))).as("the first dot splits schema and table").isTrue();
        assertThat(f.matches(new TableId("public", "aXb1"))).as("a dot is no wildcard").isFalse();
    }
}
