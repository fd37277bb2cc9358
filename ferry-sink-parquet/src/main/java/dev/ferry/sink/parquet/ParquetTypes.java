package dev.ferry.sink.parquet;

import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.sink.duckdb.CarrierValues;
import dev.ferry.sink.duckdb.DuckDbTypes;
import java.util.EnumSet;
import java.util.Set;

/**
 * How each {@link LogicalType} is stored in Parquet (the table in docs/sinks.md): as the duckdb sink
 * stores it ({@link DuckDbTypes}), except the types Spark cannot read from Parquet — UUID, TIME,
 * TIMETZ and INTERVAL (whose Parquet type also holds only milliseconds) — and JSON, which travel as
 * their exact text (ISO-8601 for intervals, as in the change event). So every file uses only
 * Parquet's common types, read alike by DuckDB, Spark and Trino.
 *
 * <p>Values travel as in the duckdb sink: staged with DuckDB's Appender in a carrier type
 * ({@link CarrierValues}), then one SQL cast per column gives the stored type, so a value the stored
 * type cannot hold fails in that cast.
 */
final class ParquetTypes {
    /** Written as their text: Spark reads no Parquet UUID, TIME or INTERVAL; JSON is text everywhere. */
    private static final Set<LogicalType> AS_TEXT = EnumSet.of(LogicalType.UUID, LogicalType.TIME, LogicalType.TIMETZ,
            LogicalType.INTERVAL, LogicalType.JSON);

    private ParquetTypes() {
    }

    /** The column as the duckdb sink's machinery should see it: the text types as plain strings. */
    private static Column asWritten(Column c) {
        if (c.type() == LogicalType.ARRAY && AS_TEXT.contains(c.elementType())) {
            return new Column(c.name(), LogicalType.ARRAY, LogicalType.STRING, "text[]", c.key());
        }
        return AS_TEXT.contains(c.type()) ? Column.of(c.name(), LogicalType.STRING, "text", c.key()) : c;
    }

    /** The DuckDB type a column is written from, which decides its Parquet type. */
    static String stored(Column c) {
        return DuckDbTypes.stored(asWritten(c));
    }

    /** The appender-native type a column's values are staged in. */
    static DuckDbTypes.Carrier carrier(Column c) {
        return DuckDbTypes.carrier(asWritten(c));
    }

    /** The SQL turning the staged carrier expression {@code staged} into the stored type. */
    static String fromCarrier(Column c, String staged) {
        return DuckDbTypes.fromCarrier(asWritten(c), staged);
    }

    /**
     * The carrier value of a non-null value: Boolean, Long, Double, or text.
     *
     * @throws CarrierValues.Unstorable for a value without one (a multi-dimensional array)
     */
    static Object carried(Column c, Object value) {
        return CarrierValues.of(asWritten(c), value);
    }
}
