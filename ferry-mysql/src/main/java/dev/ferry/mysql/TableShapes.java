package dev.ferry.mysql;

import com.github.shyiko.mysql.binlog.event.TableMapEventData;
import com.github.shyiko.mysql.binlog.event.TableMapEventMetadata;
import com.github.shyiko.mysql.binlog.event.deserialization.ColumnType;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.TableId;
import dev.ferry.source.TableFilter;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The shapes of the captured tables as the binlog describes them, for the decoder.
 *
 * <p>Design notes. A TABLE_MAP event precedes every rows event and carries the column types; with
 * {@code binlog_row_metadata=FULL} (MariaDB 10.5+, MySQL 8.0.1+) also names, signedness, character
 * sets and ENUM/SET members. The catalog (information_schema) says the same with richer type names,
 * but as of now, which may be later than the event being decoded. So: the catalog's shape is used
 * while it agrees with the TABLE_MAP (same names, compatible types, and with full metadata the same
 * signedness, ENUM/SET members and character sets); when it does not (Ferry is behind
 * a schema change), the shape is built from the TABLE_MAP's metadata alone; without full metadata
 * the catalog is re-read at each DDL statement for the table, which is exact unless a later DDL has
 * already run. Catalog lookups happen here, outside the decoder.
 */
final class TableShapes implements ChangeDecoder.Shapes {
    private final String database;
    private final TableFilter filter;
    private final Catalog catalog;
    private final Map<TableId, TableShape> catalogShapes = new HashMap<>();
    /** The last shape used per table, for TRUNCATE and DROP events. */
    private final Map<TableId, TableShape> lastUsed = new HashMap<>();
    /** Shapes built per TABLE_MAP, by table id (ids change when a table's definition changes). */
    private final Map<Long, TableShape> byTableMap = new HashMap<>();
    private final Map<Long, TableMapEventData> tableMaps = new HashMap<>();

    TableShapes(String database, TableFilter filter, Catalog catalog) {
        this.database = database;
        this.filter = filter;
        this.catalog = catalog;
    }

    boolean captures(TableId table) {
        return table.schema().equals(database) && filter.matches(table);
    }

    @Override
    public TableShape of(TableMapEventData map) throws FerryException {
        TableId table = new TableId(map.getDatabase(), map.getTable());
        if (!captures(table)) {
            return null;
        }
        TableMapEventData known = tableMaps.get(map.getTableId());
        TableShape shape = byTableMap.get(map.getTableId());
        if (shape != null && known != null && sameDefinition(known, map)) {
            return shape;
        }
        try {
            shape = build(table, map);
        } catch (SQLException e) {
            throw new FerryException(ErrorKind.CONNECTIVITY, "Cannot read the columns of " + table + " from the catalog: "
                    + e.getMessage(), e);
        }
        byTableMap.put(map.getTableId(), shape);
        tableMaps.put(map.getTableId(), map);
        lastUsed.put(table, shape);
        return shape;
    }

    @Override
    public Optional<TableShape> known(TableId table) throws FerryException {
        if (!captures(table)) {
            return Optional.empty();
        }
        TableShape shape = lastUsed.get(table);
        if (shape == null) {
            try {
                shape = catalogShape(table).orElse(null);
            } catch (SQLException e) {
                throw new FerryException(ErrorKind.CONNECTIVITY, "Cannot read the columns of " + table + ": "
                        + e.getMessage(), e);
            }
        }
        // gone from the catalog, never seen in this run (TRUNCATE then DROP, read later): the event needs no columns
        return Optional.of(shape != null ? shape : TableShape.of(table, List.of()));
    }

    @Override
    public void changed(TableId table) {
        catalogShapes.remove(table);
        byTableMap.values().removeIf(s -> s.table().equals(table));
        tableMaps.values().removeIf(m -> m.getDatabase().equals(table.schema()) && m.getTable().equals(table.name()));
    }

    /** The catalog's shape of a table, cached until a DDL statement names it. */
    Optional<TableShape> catalogShape(TableId table) throws SQLException {
        TableShape cached = catalogShapes.get(table);
        if (cached == null) {
            cached = catalog.shape(table).orElse(null);
            if (cached != null) {
                catalogShapes.put(table, cached);
            }
        }
        return Optional.ofNullable(cached);
    }

    private TableShape build(TableId table, TableMapEventData map) throws SQLException, FerryException {
        TableMapEventMetadata meta = map.getEventMetadata();
        List<String> names = meta == null ? null : meta.getColumnNames();
        Optional<TableShape> fromCatalog = catalogShape(table);
        if (names != null && names.size() == map.getColumnTypes().length) {
            TableShape fromBinlog = fromMetadata(table, map, meta);
            // a MODIFY of signedness, ENUM/SET members or character set keeps the binlog type: only the
            // metadata tells that an event older than the MODIFY needs the old definition
            if (fromCatalog.isPresent() && agrees(fromCatalog.get(), map, names)
                    && decodesAlike(fromCatalog.get(), fromBinlog)) {
                return fromCatalog.get();
            }
            return fromBinlog;
        }
        if (fromCatalog.isPresent() && agrees(fromCatalog.get(), map, null)) {
            return fromCatalog.get();
        }
        throw new FerryException(ErrorKind.PREREQUISITE, "The binlog's columns of " + table + " (" + map.getColumnTypes().length
                + " columns) do not match the catalog's " + fromCatalog.map(s -> s.columns().size() + " columns").orElse("(table gone)")
                + ", and the binlog carries no column names: the table changed after the event Ferry is reading. Set "
                + "binlog_row_metadata=FULL on the server (MariaDB 10.5+, MySQL 8.0.1+) so the binlog says which columns "
                + "it holds, or re-snapshot the table (delete the pipeline's state folder and the sink output).");
    }

    /** Whether the catalog's columns are the TABLE_MAP's: same count, names where known, compatible types. */
    private static boolean agrees(TableShape shape, TableMapEventData map, List<String> names) {
        byte[] types = map.getColumnTypes();
        if (shape.columns().size() != types.length) {
            return false;
        }
        for (int i = 0; i < types.length; i++) {
            ColumnDef c = shape.columns().get(i);
            if (names != null && !names.get(i).equals(c.name())) {
                return false;
            }
            if (!compatible(c, ColumnType.byCode(types[i] & 0xFF), map.getColumnMetadata()[i])) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether the catalog's columns decode a row as the binlog's metadata says they were written: the
     * same signedness of integers, the same ENUM/SET members and the same character set of text.
     */
    private static boolean decodesAlike(TableShape catalog, TableShape binlog) {
        for (int i = 0; i < catalog.columns().size(); i++) {
            ColumnDef c = catalog.columns().get(i);
            ColumnDef b = binlog.columns().get(i);
            boolean integer = switch (b.dataType()) {
                case "tinyint", "smallint", "mediumint", "int", "bigint" -> true;
                default -> false;
            };
            if (integer && c.unsigned() != b.unsigned()) {
                return false;
            }
            if ((b.dataType().equals("enum") || b.dataType().equals("set")) && !c.values().equals(b.values())) {
                return false;
            }
            if (b.charset() != null && !b.charset().equalsIgnoreCase(String.valueOf(c.charset()))) {
                return false;
            }
        }
        return true;
    }

    private static boolean compatible(ColumnDef c, ColumnType binlog, int meta) {
        if (binlog == null) {
            return false;
        }
        return switch (binlog) {
            case TINY -> c.dataType().equals("tinyint");
            case SHORT -> c.dataType().equals("smallint");
            case INT24 -> c.dataType().equals("mediumint");
            case LONG -> c.dataType().equals("int") || c.dataType().equals("integer");
            case LONGLONG -> c.dataType().equals("bigint");
            case FLOAT -> c.dataType().equals("float");
            case DOUBLE -> c.dataType().equals("double") || c.dataType().equals("real");
            case NEWDECIMAL, DECIMAL -> c.dataType().equals("decimal") || c.dataType().equals("numeric");
            case DATE, NEWDATE -> c.dataType().equals("date");
            case DATETIME, DATETIME_V2 -> c.dataType().equals("datetime");
            case TIMESTAMP, TIMESTAMP_V2 -> c.dataType().equals("timestamp");
            case TIME, TIME_V2 -> c.dataType().equals("time");
            case YEAR -> c.dataType().equals("year");
            case BIT -> c.dataType().equals("bit") && c.length() == (meta >> 8) * 8 + (meta & 0xFF);
            case VARCHAR, VAR_STRING -> c.dataType().equals("varchar") || c.dataType().equals("varbinary");
            case BLOB -> c.dataType().endsWith("text") || c.dataType().endsWith("blob") || c.dataType().equals("json");
            case JSON -> c.dataType().equals("json");
            case GEOMETRY -> c.geometry();
            case STRING -> switch (realType(meta)) {
                case 247 -> c.dataType().equals("enum");
                case 248 -> c.dataType().equals("set");
                default -> c.dataType().equals("char") || c.dataType().equals("binary");
            };
            default -> false;
        };
    }

    /** The real type of a STRING column (CHAR, BINARY, ENUM, SET) from its TABLE_MAP metadata. */
    private static int realType(int meta) {
        int type = meta >> 8;
        return (type & 0x30) != 0x30 ? type | 0x30 : type;
    }

    /** The byte length of a CHAR/BINARY column from its TABLE_MAP metadata. */
    private static int stringLength(int meta) {
        int type = meta >> 8;
        int length = meta & 0xFF;
        return (type & 0x30) != 0x30 ? length + (((type & 0x30) ^ 0x30) << 4) : length;
    }

    /** A shape from the TABLE_MAP's full metadata alone; type names are as precise as the binlog allows. */
    private TableShape fromMetadata(TableId table, TableMapEventData map, TableMapEventMetadata meta) throws SQLException {
        byte[] types = map.getColumnTypes();
        int[] metas = map.getColumnMetadata();
        BitSet signedness = meta.getSignedness() == null ? new BitSet() : meta.getSignedness();
        List<Integer> keys = meta.getSimplePrimaryKeys() == null ? List.of() : meta.getSimplePrimaryKeys();
        List<ColumnDef> columns = new ArrayList<>();
        int character = 0;
        int enums = 0;
        int sets = 0;
        for (int i = 0; i < types.length; i++) {
            ColumnType type = ColumnType.byCode(types[i] & 0xFF);
            int m = metas[i];
            boolean unsigned = false;
            String charset = null;
            List<String> values = List.of();
            int length = 0;
            String dataType;
            String sourceType;
            switch (type) {
                case TINY, SHORT, INT24, LONG, LONGLONG, NEWDECIMAL, FLOAT, DOUBLE, YEAR -> {
                    // the binlog's bitmap counts numeric columns only, but the library hands it over
                    // indexed by column position (TableMapEventMetadataDeserializer, SIGNEDNESS)
                    unsigned = signedness.get(i);
                    dataType = switch (type) {
                        case TINY -> "tinyint";
                        case SHORT -> "smallint";
                        case INT24 -> "mediumint";
                        case LONG -> "int";
                        case LONGLONG -> "bigint";
                        case NEWDECIMAL -> "decimal";
                        case FLOAT -> "float";
                        case DOUBLE -> "double";
                        default -> "year";
                    };
                    sourceType = type == ColumnType.NEWDECIMAL ? "decimal(" + (m & 0xFF) + "," + (m >> 8) + ")" : dataType;
                    if (unsigned && type != ColumnType.YEAR) {
                        sourceType += " unsigned";
                    }
                }
                case DATE, NEWDATE -> sourceType = dataType = "date";
                case DATETIME, DATETIME_V2 -> {
                    dataType = "datetime";
                    sourceType = m > 0 ? "datetime(" + m + ")" : dataType;
                }
                case TIMESTAMP, TIMESTAMP_V2 -> {
                    dataType = "timestamp";
                    sourceType = m > 0 ? "timestamp(" + m + ")" : dataType;
                }
                case TIME, TIME_V2 -> {
                    dataType = "time";
                    sourceType = m > 0 ? "time(" + m + ")" : dataType;
                }
                case BIT -> {
                    length = (m >> 8) * 8 + (m & 0xFF);
                    dataType = "bit";
                    sourceType = "bit(" + length + ")";
                }
                case JSON -> sourceType = dataType = "json";
                case GEOMETRY -> {
                    sourceType = dataType = "geometry";
                    // MariaDB lists a geometry column's charset (binary) among the character columns';
                    // MySQL does not (its is_character_type leaves GEOMETRY out)
                    if (catalog.mariaDb()) {
                        character++;
                    }
                }
                case STRING, VARCHAR, VAR_STRING, BLOB -> {
                    int real = type == ColumnType.STRING ? realType(m) : 0;
                    if (real == 247 || real == 248) {
                        boolean isEnum = real == 247;
                        List<String[]> members = isEnum ? meta.getEnumStrValues() : meta.getSetStrValues();
                        values = members == null ? List.of() : List.of(members.get(isEnum ? enums++ : sets++));
                        dataType = isEnum ? "enum" : "set";
                        sourceType = dataType;
                    } else {
                        charset = catalog.charsetOfCollation(collation(meta, character++));
                        boolean binary = "binary".equals(charset);
                        if (type == ColumnType.STRING) {
                            length = stringLength(m);
                            dataType = binary ? "binary" : "char";
                        } else if (type == ColumnType.BLOB) {
                            dataType = (switch (m) {
                                case 1 -> "tiny";
                                case 2 -> "";
                                case 3 -> "medium";
                                default -> "long";
                            }) + (binary ? "blob" : "text");
                        } else {
                            dataType = binary ? "varbinary" : "varchar";
                        }
                        sourceType = dataType;
                    }
                }
                default -> throw new IllegalStateException("column type " + type + " of " + table + " is not supported");
            }
            columns.add(new ColumnDef(meta.getColumnNames().get(i), dataType, sourceType, unsigned, charset, values,
                    length, keys.contains(i)));
        }
        return TableShape.of(table, columns);
    }

    /** The collation of the {@code index}-th character column, from DEFAULT_CHARSET or COLUMN_CHARSET. */
    private static int collation(TableMapEventMetadata meta, int index) {
        if (meta.getColumnCharsets() != null && index < meta.getColumnCharsets().size()) {
            return meta.getColumnCharsets().get(index);
        }
        TableMapEventMetadata.DefaultCharset d = meta.getDefaultCharset();
        if (d == null) {
            return 45; // utf8mb4_general_ci
        }
        Integer own = d.getCharsetCollations() == null ? null : d.getCharsetCollations().get(index);
        return own != null ? own : d.getDefaultCharsetCollation();
    }

    private static boolean sameDefinition(TableMapEventData a, TableMapEventData b) {
        return java.util.Arrays.equals(a.getColumnTypes(), b.getColumnTypes())
                && java.util.Arrays.equals(a.getColumnMetadata(), b.getColumnMetadata())
                && java.util.Objects.equals(a.getEventMetadata() == null ? null : a.getEventMetadata().getColumnNames(),
                b.getEventMetadata() == null ? null : b.getEventMetadata().getColumnNames());
    }
}
