package dev.ferry.mysql;

import com.github.shyiko.mysql.binlog.event.DeleteRowsEventData;
import com.github.shyiko.mysql.binlog.event.EventData;
import com.github.shyiko.mysql.binlog.event.EventType;
import com.github.shyiko.mysql.binlog.event.TableMapEventData;
import com.github.shyiko.mysql.binlog.event.UpdateRowsEventData;
import com.github.shyiko.mysql.binlog.event.WriteRowsEventData;
import com.github.shyiko.mysql.binlog.event.deserialization.AbstractRowsEventDataDeserializer;
import com.github.shyiko.mysql.binlog.event.deserialization.EventDataDeserializer;
import com.github.shyiko.mysql.binlog.event.deserialization.EventDeserializer;
import com.github.shyiko.mysql.binlog.event.deserialization.EventHeaderV4Deserializer;
import com.github.shyiko.mysql.binlog.event.deserialization.FormatDescriptionEventDataDeserializer;
import com.github.shyiko.mysql.binlog.event.deserialization.GtidEventDataDeserializer;
import com.github.shyiko.mysql.binlog.event.deserialization.MariadbGtidEventDataDeserializer;
import com.github.shyiko.mysql.binlog.event.deserialization.NullEventDataDeserializer;
import com.github.shyiko.mysql.binlog.event.deserialization.QueryEventDataDeserializer;
import com.github.shyiko.mysql.binlog.event.deserialization.RotateEventDataDeserializer;
import com.github.shyiko.mysql.binlog.event.deserialization.TableMapEventDataDeserializer;
import com.github.shyiko.mysql.binlog.event.deserialization.XidEventDataDeserializer;
import com.github.shyiko.mysql.binlog.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The binlog library's event deserializer, with the row deserializers replaced by ones that decode
 * temporal cells exactly ({@link TemporalCells}) and keep CHAR/VARCHAR/BINARY as bytes, so that text is
 * decoded with each column's own character set.
 */
final class ExactRows {
    private ExactRows() {
    }

    static EventDeserializer deserializer() {
        Map<Long, TableMapEventData> tableMaps = new HashMap<>();
        Map<EventType, EventDataDeserializer> d = new IdentityHashMap<>();
        d.put(EventType.FORMAT_DESCRIPTION, new FormatDescriptionEventDataDeserializer());
        d.put(EventType.ROTATE, new RotateEventDataDeserializer());
        d.put(EventType.QUERY, new QueryEventDataDeserializer());
        d.put(EventType.TABLE_MAP, new TableMapEventDataDeserializer());
        d.put(EventType.XID, new XidEventDataDeserializer());
        d.put(EventType.GTID, new GtidEventDataDeserializer());
        d.put(EventType.MARIADB_GTID, new MariadbGtidEventDataDeserializer());
        d.put(EventType.WRITE_ROWS, new Write(tableMaps, false));
        d.put(EventType.UPDATE_ROWS, new Update(tableMaps, false));
        d.put(EventType.DELETE_ROWS, new Delete(tableMaps, false));
        d.put(EventType.EXT_WRITE_ROWS, new Write(tableMaps, true));
        d.put(EventType.EXT_UPDATE_ROWS, new Update(tableMaps, true));
        d.put(EventType.EXT_DELETE_ROWS, new Delete(tableMaps, true));
        EventDeserializer deserializer = new EventDeserializer(new EventHeaderV4Deserializer(),
                new NullEventDataDeserializer(), d, tableMaps);
        deserializer.setCompatibilityMode(EventDeserializer.CompatibilityMode.CHAR_AND_BINARY_AS_BYTE_ARRAY);
        return deserializer;
    }

    /** The temporal cells decoded exactly; the rows event layouts as MySQL's log_event.h documents them. */
    private abstract static class Exact<T extends EventData> extends AbstractRowsEventDataDeserializer<T> {
        private final boolean extraInformation;

        Exact(Map<Long, TableMapEventData> tableMaps, boolean extraInformation) {
            super(tableMaps);
            this.extraInformation = extraInformation;
        }

        /** Reads the table id and the post-header, and returns the number of columns. */
        long tableId(ByteArrayInputStream in) throws IOException {
            long tableId = in.readLong(6);
            in.skip(2); // flags
            if (extraInformation) {
                int extra = in.readInteger(2);
                in.skip(extra - 2);
            }
            return tableId;
        }

        /** The rows of a WRITE or DELETE event: one image each. */
        List<Serializable[]> rows(long tableId, java.util.BitSet included, ByteArrayInputStream in) throws IOException {
            List<Serializable[]> rows = new ArrayList<>();
            while (in.available() > 0) {
                rows.add(deserializeRow(tableId, included, in));
            }
            return rows;
        }

        @Override protected Serializable deserializeDate(ByteArrayInputStream in) throws IOException {
            return TemporalCells.date(in);
        }

        @Override protected Serializable deserializeDatetime(ByteArrayInputStream in) throws IOException {
            return TemporalCells.datetime(in);
        }

        @Override protected Serializable deserializeDatetimeV2(int meta, ByteArrayInputStream in) throws IOException {
            return TemporalCells.datetime2(meta, in);
        }

        @Override protected Serializable deserializeTimestamp(ByteArrayInputStream in) throws IOException {
            return TemporalCells.timestamp(in);
        }

        @Override protected Serializable deserializeTimestampV2(int meta, ByteArrayInputStream in) throws IOException {
            return TemporalCells.timestamp2(meta, in);
        }

        @Override protected Serializable deserializeTime(ByteArrayInputStream in) throws IOException {
            return TemporalCells.time(in);
        }

        @Override protected Serializable deserializeTimeV2(int meta, ByteArrayInputStream in) throws IOException {
            return TemporalCells.time2(meta, in);
        }

        @Override protected Serializable deserializeYear(ByteArrayInputStream in) throws IOException {
            return TemporalCells.year(in);
        }
    }

    private static final class Write extends Exact<WriteRowsEventData> {
        Write(Map<Long, TableMapEventData> tableMaps, boolean extra) {
            super(tableMaps, extra);
        }

        @Override
        public WriteRowsEventData deserialize(ByteArrayInputStream in) throws IOException {
            WriteRowsEventData data = new WriteRowsEventData();
            data.setTableId(tableId(in));
            data.setIncludedColumns(in.readBitSet(in.readPackedInteger(), true));
            data.setRows(rows(data.getTableId(), data.getIncludedColumns(), in));
            return data;
        }
    }

    private static final class Delete extends Exact<DeleteRowsEventData> {
        Delete(Map<Long, TableMapEventData> tableMaps, boolean extra) {
            super(tableMaps, extra);
        }

        @Override
        public DeleteRowsEventData deserialize(ByteArrayInputStream in) throws IOException {
            DeleteRowsEventData data = new DeleteRowsEventData();
            data.setTableId(tableId(in));
            data.setIncludedColumns(in.readBitSet(in.readPackedInteger(), true));
            data.setRows(rows(data.getTableId(), data.getIncludedColumns(), in));
            return data;
        }
    }

    private static final class Update extends Exact<UpdateRowsEventData> {
        Update(Map<Long, TableMapEventData> tableMaps, boolean extra) {
            super(tableMaps, extra);
        }

        @Override
        public UpdateRowsEventData deserialize(ByteArrayInputStream in) throws IOException {
            UpdateRowsEventData data = new UpdateRowsEventData();
            data.setTableId(tableId(in));
            int columns = in.readPackedInteger();
            data.setIncludedColumnsBeforeUpdate(in.readBitSet(columns, true));
            data.setIncludedColumns(in.readBitSet(columns, true));
            List<Map.Entry<Serializable[], Serializable[]>> rows = new ArrayList<>();
            while (in.available() > 0) {
                Serializable[] before = deserializeRow(data.getTableId(), data.getIncludedColumnsBeforeUpdate(), in);
                rows.add(new AbstractMap.SimpleEntry<>(before, deserializeRow(data.getTableId(), data.getIncludedColumns(), in)));
            }
            data.setRows(rows);
            return data;
        }
    }
}
