package dev.ferry.sink.duckdb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The type table of docs/sinks.md, the widening rules of schema changes, and carrier values. */
class DuckDbTypesTest {
    @Test
    void decimalsStayExact() {
        assertThat(DuckDbTypes.stored(Column.of("a", LogicalType.DECIMAL, "numeric(12,2)", false))).isEqualTo("DECIMAL(12,2)");
        assertThat(DuckDbTypes.stored(Column.of("a", LogicalType.DECIMAL, "numeric(38,0)", false))).isEqualTo("DECIMAL(38,0)");
        // beyond DuckDB's 38 digits, a negative scale, or no precision: the exact text
        assertThat(DuckDbTypes.stored(Column.of("a", LogicalType.DECIMAL, "numeric(40,2)", false))).isEqualTo("VARCHAR");
        assertThat(DuckDbTypes.stored(Column.of("a", LogicalType.DECIMAL, "numeric(3,-2)", false))).isEqualTo("VARCHAR");
        assertThat(DuckDbTypes.stored(Column.of("a", LogicalType.DECIMAL, "numeric", false))).isEqualTo("VARCHAR");
        assertThat(DuckDbTypes.stored(new Column("a", LogicalType.ARRAY, LogicalType.DECIMAL, "numeric(5,1)[]", false)))
                .isEqualTo("DECIMAL(5,1)[]");
    }

    @Test
    void typeChangesWidenOrAreRefused() {
        assertThat(DuckDbTypes.reconcile("INTEGER", "BIGINT")).isEqualTo("BIGINT");
        assertThat(DuckDbTypes.reconcile("BIGINT", "SMALLINT")).isEqualTo("BIGINT");
        assertThat(DuckDbTypes.reconcile("DECIMAL(10,2)", "DECIMAL(12,4)")).isEqualTo("DECIMAL(12,4)");
        assertThat(DuckDbTypes.reconcile("DECIMAL(10,2)", "DECIMAL(5,4)")).isEqualTo("DECIMAL(12,4)");
        assertThat(DuckDbTypes.reconcile("DECIMAL(38,0)", "DECIMAL(10,5)")).isEqualTo("VARCHAR");
        assertThat(DuckDbTypes.reconcile("DECIMAL(10,2)", "VARCHAR")).isEqualTo("VARCHAR");
        assertThat(DuckDbTypes.reconcile("INTEGER", "DECIMAL(12,2)")).isEqualTo("DECIMAL(12,2)");
        assertThat(DuckDbTypes.reconcile("INTEGER[]", "BIGINT[]")).isEqualTo("BIGINT[]");
        assertThat(DuckDbTypes.reconcile("FLOAT", "DOUBLE")).isEqualTo("DOUBLE");
        assertThat(DuckDbTypes.reconcile("VARCHAR", "INTEGER")).isNull();
        assertThat(DuckDbTypes.reconcile("TIMESTAMP", "TIMESTAMP WITH TIME ZONE")).isNull();
        assertThat(DuckDbTypes.reconcile("BIGINT", "DECIMAL(12,2)")).isNull();
    }

    @Test
    void intervalsKeepMonthsDaysAndMicrosecondsApart() {
        assertThat(CarrierValues.interval("P1Y2M3DT4H5M6.789S")).isEqualTo("14 months 3 days 14706789000 microseconds");
        assertThat(CarrierValues.interval("P-1M2DT-3H-0.5S")).isEqualTo("-1 months 2 days -10800500000 microseconds");
        assertThat(CarrierValues.interval("PT0S")).isEqualTo("0 months 0 days 0 microseconds");
        assertThat(CarrierValues.interval("P178000000Y")).isEqualTo("2136000000 months 0 days 0 microseconds");
        assertThatThrownBy(() -> CarrierValues.interval("1 day")).isInstanceOf(CarrierValues.Unstorable.class);
    }

    @Test
    void arraysTravelAsJsonTextAndOneDimensionOnly() {
        Column bytes = new Column("b", LogicalType.ARRAY, LogicalType.BYTES, "bytea[]", false);
        assertThat(CarrierValues.of(bytes, Arrays.asList(new byte[] {0, -1}, null))).isEqualTo("[\"AP8=\",null]");
        Column dates = new Column("d", LogicalType.ARRAY, LogicalType.DATE, "date[]", false);
        assertThat(CarrierValues.of(dates, List.of("+10000-01-01", "infinity"))).isEqualTo("[\"10000-01-01\",\"infinity\"]");
        Column ints = new Column("i", LogicalType.ARRAY, LogicalType.INT32, "integer[]", false);
        assertThatThrownBy(() -> CarrierValues.of(ints, List.of(List.of(1L, 2L))))
                .isInstanceOf(CarrierValues.Unstorable.class).hasMessageContaining("multi-dimensional");
    }
}
