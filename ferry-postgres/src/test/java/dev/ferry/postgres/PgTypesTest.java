package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import org.junit.jupiter.api.Test;

/** Type modifiers are encoded as PostgreSQL stores them in atttypmod (VARHDRSZ = 4 where it applies). */
class PgTypesTest {
    private static int numericTypmod(int precision, int scale) {
        return ((precision << 16) | (scale & 0x7ff)) + 4;
    }

    @Test
    void numericWithPrecisionAndScale() {
        assertThat(PgTypes.column("amount", 1700, numericTypmod(12, 2), null, false))
                .isEqualTo(Column.of("amount", LogicalType.DECIMAL, "numeric(12,2)", false));
        assertThat(PgTypes.column("n", 1700, numericTypmod(1000, 1000), null, false).sourceType())
                .isEqualTo("numeric(1000,1000)");
    }

    @Test
    void numericWithNegativeScale() {
        // PostgreSQL 15+ allows numeric(3,-2); the scale is an 11-bit two's complement field
        assertThat(PgTypes.column("n", 1700, numericTypmod(3, -2), null, false).sourceType()).isEqualTo("numeric(3,-2)");
    }

    @Test
    void numericWithoutModifier() {
        assertThat(PgTypes.column("n", 1700, -1, null, false).sourceType()).isEqualTo("numeric");
    }

    @Test
    void characterTypesWithLength() {
        assertThat(PgTypes.column("name", 1043, 20 + 4, null, false))
                .isEqualTo(Column.of("name", LogicalType.STRING, "character varying(20)", false));
        assertThat(PgTypes.column("code", 1042, 3 + 4, null, false).sourceType()).isEqualTo("character(3)");
        assertThat(PgTypes.column("free", 1043, -1, null, false).sourceType()).isEqualTo("character varying");
    }

    @Test
    void bitStringsWithLength() {
        assertThat(PgTypes.column("flags", 1560, 8, null, false))
                .isEqualTo(Column.of("flags", LogicalType.BITS, "bit(8)", false));
        assertThat(PgTypes.column("mask", 1562, 16, null, false).sourceType()).isEqualTo("bit varying(16)");
    }

    @Test
    void keyFlagIsKept() {
        assertThat(PgTypes.column("id", 20, -1, null, true))
                .isEqualTo(Column.of("id", LogicalType.INT64, "bigint", true));
    }

    @Test
    void intArray() {
        assertThat(PgTypes.column("ids", 1007, -1, null, false))
                .isEqualTo(new Column("ids", LogicalType.ARRAY, LogicalType.INT32, "integer[]", false));
    }

    @Test
    void arrayOfElementsWithModifier() {
        assertThat(PgTypes.column("tags", 1015, 20 + 4, null, false))
                .isEqualTo(new Column("tags", LogicalType.ARRAY, LogicalType.STRING, "character varying(20)[]", false));
        assertThat(PgTypes.column("prices", 1231, numericTypmod(10, 4), null, false).sourceType())
                .isEqualTo("numeric(10,4)[]");
    }

    @Test
    void unknownOidIsTextUnderTheFallbackName() {
        assertThat(PgTypes.column("mood", 90001, -1, "public.mood", false))
                .isEqualTo(Column.of("mood", LogicalType.STRING, "public.mood", false));
        assertThat(PgTypes.column("x", 90002, -1, null, false))
                .isEqualTo(Column.of("x", LogicalType.STRING, "oid 90002", false));
    }
}
