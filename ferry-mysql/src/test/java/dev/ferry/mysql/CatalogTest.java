package dev.ferry.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CatalogTest {
    @Test
    void readsEnumAndSetMembersWithQuotes() {
        assertThat(Catalog.members("enum('a','b''c','d,e')")).containsExactly("a", "b'c", "d,e");
        assertThat(Catalog.members("set('x')")).containsExactly("x");
    }

    @Test
    void dropsIntegerDisplayWidths() {
        assertThat(Catalog.normalise("int(10) unsigned")).isEqualTo("int unsigned");
        assertThat(Catalog.normalise("decimal(12,2)")).isEqualTo("decimal(12,2)");
    }
}
