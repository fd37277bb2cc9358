package dev.ferry.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.shyiko.mysql.binlog.event.Event;
import com.github.shyiko.mysql.binlog.event.EventData;
import com.github.shyiko.mysql.binlog.event.EventHeaderV4;
import com.github.shyiko.mysql.binlog.event.EventType;
import com.github.shyiko.mysql.binlog.event.MariadbGtidEventData;
import com.github.shyiko.mysql.binlog.event.QueryEventData;
import com.github.shyiko.mysql.binlog.event.RotateEventData;
import com.github.shyiko.mysql.binlog.event.TableMapEventData;
import com.github.shyiko.mysql.binlog.event.WriteRowsEventData;
import com.github.shyiko.mysql.binlog.event.XidEventData;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.event.TableId;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The decoder on a hand-made binlog: transactions, positions, resume inside a transaction, rotation, DDL. */
class ChangeDecoderTest {
    private static final TableId T = new TableId("shop", "t");
    private static final TableShape SHAPE = TableShape.of(T, List.of(
            new ColumnDef("id", "int", "int", false, null, List.of(), 0, true)));

    private final ChangeDecoder.Shapes shapes = new ChangeDecoder.Shapes() {
        @Override
        public TableShape of(TableMapEventData map) {
            return map.getTable().equals("t") ? SHAPE : null;
        }

        @Override
        public Optional<TableShape> known(TableId table) {
            return table.equals(T) ? Optional.of(SHAPE) : Optional.empty();
        }

        @Override
        public void changed(TableId table) {
        }
    };

    private long at = 400;

    private Event event(EventType type, EventData data, long length) {
        EventHeaderV4 h = new EventHeaderV4();
        h.setEventType(type);
        h.setTimestamp(1_795_690_122_000L);
        h.setServerId(1);
        h.setEventLength(length);
        h.setNextPosition(at + length);
        at += length;
        return new Event(h, data);
    }

    /** A transaction: GTID, a table map for each table, one rows event per table, XID. */
    private List<Event> transaction(long seq, String... tableAndRows) {
        List<Event> out = new ArrayList<>();
        MariadbGtidEventData g = new MariadbGtidEventData();
        g.setSequence(seq);
        g.setFlags(MariadbGtidEventData.FL_TRANSACTIONAL);
        out.add(event(EventType.MARIADB_GTID, g, 38));
        long tableId = 70;
        for (String spec : tableAndRows) {
            String[] parts = spec.split(":");
            TableMapEventData m = new TableMapEventData();
            m.setTableId(++tableId);
            m.setDatabase("shop");
            m.setTable(parts[0]);
            out.add(event(EventType.TABLE_MAP, m, 40));
            WriteRowsEventData w = new WriteRowsEventData();
            w.setTableId(tableId);
            List<Serializable[]> rows = new ArrayList<>();
            for (int i = 0; i < Integer.parseInt(parts[1]); i++) {
                rows.add(new Serializable[] {i});
            }
            w.setRows(rows);
            out.add(event(EventType.WRITE_ROWS, w, 30));
        }
        XidEventData x = new XidEventData();
        x.setXid(seq);
        out.add(event(EventType.XID, x, 31));
        return out;
    }

    private static List<ChangeEvent> decode(ChangeDecoder d, List<Event> events) throws Exception {
        List<ChangeEvent> out = new ArrayList<>();
        for (Event e : events) {
            d.decode(e, out);
        }
        return out;
    }

    @Test
    void numbersEveryRowOfATransactionAndResumesInsideIt() throws Exception {
        List<Event> binlog = new ArrayList<>(transaction(7, "t:2", "other:3", "t:2"));
        long secondStart = at;
        binlog.addAll(transaction(8, "t:1"));
        ChangeDecoder d = new ChangeDecoder(shapes, MySqlPosition.at("mysql-bin.000001", 400), null);
        List<ChangeEvent> all = decode(d, binlog);
        // rows of "other" are not captured but count: t's second rows event starts at index 5
        assertThat(all).extracting(e -> ((MySqlPosition) e.position()).index()).containsExactly(0L, 1L, 5L, 6L, 0L);
        assertThat(all.get(0).position()).isEqualTo(new MySqlPosition("mysql-bin.000001", 400, false, 0, "0-1-7"));
        assertThat(all.get(4).position()).isEqualTo(new MySqlPosition("mysql-bin.000001", secondStart, false, 0, "0-1-8"));
        assertThat(all).allMatch(e -> e.op() == Op.CREATE && e.txId() > 0);
        assertThat(d.inTransaction()).isFalse();
        assertThat(d.quiet()).isEqualTo(MySqlPosition.at("mysql-bin.000001", at));

        // the Log holds the first transaction up to its row 5: reading again from its start skips those
        ChangeDecoder resumed = new ChangeDecoder(shapes, MySqlPosition.at("mysql-bin.000001", 400),
                (MySqlPosition) all.get(2).position());
        assertThat(decode(resumed, binlog)).containsExactlyElementsOf(all.subList(3, 5));
    }

    @Test
    void followsRotationAndTurnsTruncateIntoAnEvent() throws Exception {
        ChangeDecoder d = new ChangeDecoder(shapes, MySqlPosition.at("mysql-bin.000001", 400), null);
        List<ChangeEvent> out = new ArrayList<>();
        RotateEventData r = new RotateEventData();
        r.setBinlogFilename("mysql-bin.000002");
        r.setBinlogPosition(4);
        d.decode(event(EventType.ROTATE, r, 44), out);
        assertThat(d.quiet()).isEqualTo(MySqlPosition.at("mysql-bin.000002", 4));
        at = 256;
        MariadbGtidEventData g = new MariadbGtidEventData();
        g.setSequence(9);
        g.setFlags(MariadbGtidEventData.FL_STANDALONE);
        d.decode(event(EventType.MARIADB_GTID, g, 38), out);
        QueryEventData q = new QueryEventData();
        q.setDatabase("shop");
        q.setSql("TRUNCATE TABLE t");
        d.decode(event(EventType.QUERY, q, 60), out);
        assertThat(out).hasSize(1);
        assertThat(out.get(0).op()).isEqualTo(Op.TRUNCATE);
        assertThat(out.get(0).position()).isEqualTo(new MySqlPosition("mysql-bin.000002", 256, false, 0, "0-1-9"));
        assertThat(d.inTransaction()).isFalse();
        assertThat(d.quiet()).isEqualTo(MySqlPosition.at("mysql-bin.000002", 354));
    }
}
