package dev.ferry.mysql;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import java.nio.charset.Charset;
import java.util.List;
import java.util.Locale;

/**
 * What Ferry needs to know of one MySQL column to convert its values, from the catalog
 * (information_schema) or from a binlog TABLE_MAP event with full metadata.
 *
 * @param dataType   the bare type name in lower case ({@code int}, {@code varchar}, {@code enum})
 * @param sourceType the full type ({@code int(10) unsigned}, {@code decimal(12,2)})
 * @param charset    the MySQL character set of a text column, {@code binary} for byte strings, else null
 * @param values     the members of an ENUM or SET, in order; empty otherwise
 * @param length     BIT: the number of bits; BINARY: the fixed length in bytes; else 0
 */
record ColumnDef(String name, String dataType, String sourceType, boolean unsigned, String charset,
                 List<String> values, int length, boolean key) {

    ColumnDef {
        dataType = dataType.toLowerCase(Locale.ROOT);
        values = List.copyOf(values);
    }

    /** Ferry's logical type for the column (see docs/mysql.md, "Types"). */
    LogicalType logicalType() {
        return switch (dataType) {
            case "tinyint" -> LogicalType.INT16;
            case "smallint" -> unsigned ? LogicalType.INT32 : LogicalType.INT16;
            case "mediumint" -> LogicalType.INT32;
            case "int", "integer" -> unsigned ? LogicalType.INT64 : LogicalType.INT32;
            // BIGINT UNSIGNED reaches 18446744073709551615, beyond a long: exact decimal text
            case "bigint" -> unsigned ? LogicalType.DECIMAL : LogicalType.INT64;
            case "decimal", "numeric", "dec", "fixed" -> LogicalType.DECIMAL;
            case "float" -> LogicalType.FLOAT32;
            case "double", "real", "double precision" -> LogicalType.FLOAT64;
            case "bit" -> LogicalType.BITS;
            case "date" -> LogicalType.DATE;
            case "datetime" -> LogicalType.TIMESTAMP;
            case "timestamp" -> LogicalType.TIMESTAMPTZ;
            case "time" -> LogicalType.TIME;
            case "year" -> LogicalType.INT16;
            case "enum" -> LogicalType.ENUM;
            case "json" -> LogicalType.JSON;
            case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob" -> LogicalType.BYTES;
            default -> geometry() ? LogicalType.BYTES : LogicalType.STRING;
        };
    }

    boolean geometry() {
        return switch (dataType) {
            case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
                 "geometrycollection", "geomcollection" -> true;
            default -> false;
        };
    }

    /** Whether values are bytes rather than text in a character set. */
    boolean binary() {
        return logicalType() == LogicalType.BYTES;
    }

    /** The Java charset of a text column. */
    Charset javaCharset() {
        return Charsets.forMySql(charset);
    }

    Column column() {
        return Column.of(name, logicalType(), sourceType, key);
    }

    ColumnDef withKey(boolean isKey) {
        return new ColumnDef(name, dataType, sourceType, unsigned, charset, values, length, isKey);
    }
}
