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
        // as format_type writes it: "character" alone would be character(1)
        assertThat(PgTypes.column("padded", 1042, -1, null, false).sourceType()).isEqualTo("bpchar");
        assertThat(PgTypes.column("bits", 1560, -1, null, false).sourceType()).isEqualTo("\"bit\"");
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

    @org.junit.jupiter.api.Test
    void nonBuiltInTypesResolveThroughTheCatalog() throws Exception {
        java.util.Map<Integer, PgTypes.UserType> catalog = java.util.Map.of(
                90001, new PgTypes.UserType("posint", 'd', 'N', 0, 23),
                90002, new PgTypes.UserType("mood", 'e', 'E', 0, 0),
                90003, new PgTypes.UserType("mood[]", 'b', 'A', 90002, 0),
                90004, new PgTypes.UserType("pair", 'c', 'C', 0, 0),
                90005, new PgTypes.UserType("posint[]", 'b', 'A', 90001, 0));
        PgTypes.TypeLookup lookup = catalog::get;
        assertThat(PgTypes.column("d", 90001, -1, false, lookup))
                .isEqualTo(dev.ferry.event.Column.of("d", dev.ferry.event.LogicalType.INT32, "posint", false));
        assertThat(PgTypes.column("e", 90002, -1, false, lookup).type()).isEqualTo(dev.ferry.event.LogicalType.ENUM);
        assertThat(PgTypes.column("a", 90003, -1, false, lookup)).isEqualTo(new dev.ferry.event.Column("a",
                dev.ferry.event.LogicalType.ARRAY, dev.ferry.event.LogicalType.ENUM, "mood[]", false));
        assertThat(PgTypes.column("c", 90004, -1, false, lookup).type()).isEqualTo(dev.ferry.event.LogicalType.STRING);
        assertThat(PgTypes.column("p", 90005, -1, false, lookup).elementType()).isEqualTo(dev.ferry.event.LogicalType.INT32);
        assertThat(PgTypes.column("x", 99999, -1, false, lookup).sourceType()).isEqualTo("oid 99999");
        assertThat(PgTypes.column("i", 23, -1, false, lookup).type()).isEqualTo(dev.ferry.event.LogicalType.INT32);
    }
}
