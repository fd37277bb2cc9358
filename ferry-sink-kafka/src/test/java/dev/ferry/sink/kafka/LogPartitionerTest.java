package dev.ferry.sink.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LogPartitionerTest {
    @Test
    void keepsEveryChangeOfARowInOnePartitionInOrder() {
        LogPartitioner partitioner = new LogPartitioner(4);
        List<ChangeEvent> events = new ArrayList<>();
        for (long i = 0; i < 400; i++) {
            events.add(i % 3 == 0 ? TestEvents.update(i, i % 50) : TestEvents.insert(i, i % 50));
        }
        List<List<ChangeEvent>> routed = partitioner.route(events);
        Map<Object, Integer> partitionOfKey = new HashMap<>();
        for (int p = 0; p < 4; p++) {
            assertThat(routed.get(p)).as("50 keys spread over every partition").isNotEmpty();
            long last = -1;
            for (ChangeEvent e : routed.get(p)) {
                Integer before = partitionOfKey.put(e.after().get(0), p);
                assertThat(before == null || before == p).as("key " + e.after().get(0) + " in one partition").isTrue();
                long counter = ((TestEvents.Counter) e.position()).value();
                assertThat(counter).as("source order within the partition").isGreaterThan(last);
                last = counter;
            }
        }
        assertThat(routed.stream().mapToInt(List::size).sum()).isEqualTo(400);
        // the same in another process: the hash depends on the key's values only
        assertThat(new LogPartitioner(4).partitionOf(TestEvents.ORDERS, TestEvents.row(7, 1)))
                .isEqualTo(partitioner.partitionOf(TestEvents.ORDERS, TestEvents.row(7, 99)));
    }

    @Test
    void sendsATruncateToEveryPartitionAndSplitsAKeyChange() {
        LogPartitioner partitioner = new LogPartitioner(4);
        long oldId = 1;
        long newId = 2;
        while (partitioner.partitionOf(TestEvents.ORDERS, TestEvents.row(newId, 0))
                == partitioner.partitionOf(TestEvents.ORDERS, TestEvents.row(oldId, 0))) {
            newId++;
        }
        ChangeEvent truncate = new ChangeEvent(Op.TRUNCATE, TestEvents.ORDERS, null, null, Set.of(),
                new TestEvents.Counter(1), 7, Instant.EPOCH);
        List<List<ChangeEvent>> routed = partitioner.route(List.of(TestEvents.insert(0, oldId), truncate,
                TestEvents.updateKey(2, oldId, newId)));
        for (List<ChangeEvent> part : routed) {
            assertThat(part).contains(truncate);
        }
        List<ChangeEvent> oldPart = routed.get(partitioner.partitionOf(TestEvents.ORDERS, TestEvents.row(oldId, 0)));
        List<ChangeEvent> newPart = routed.get(partitioner.partitionOf(TestEvents.ORDERS, TestEvents.row(newId, 0)));
        assertThat(oldPart).extracting(ChangeEvent::op).containsExactly(Op.CREATE, Op.TRUNCATE, Op.DELETE);
        assertThat(newPart).extracting(ChangeEvent::op).containsExactly(Op.TRUNCATE, Op.CREATE);
        assertThat(newPart.get(1).after().get(0)).isEqualTo(newId);
    }

    /**
     * Keys the source and the warehouse find equal though their texts differ (numeric {@code 1.0} and
     * {@code 1.00}, float {@code -0} and {@code 0}) are one row: an update that changes only the scale
     * comes as a key change, and its delete and create must stay in one partition, in order. In two,
     * a worker behind on the delete's partition would delete the row after the create was written.
     */
    @Test
    void keepsKeysEqualAtTheSourceInOnePartition() {
        TableSchema numeric = new TableSchema(new TableId("public", "n"), List.of(
                Column.of("id", LogicalType.DECIMAL, "numeric", true), Column.of("x", LogicalType.FLOAT64, "float8", true)));
        LogPartitioner partitioner = new LogPartitioner(4);
        for (int i = 0; i < 40; i++) {
            int p = partitioner.partitionOf(numeric, Row.wrap(i + ".0", 0.0));
            assertThat(partitioner.partitionOf(numeric, Row.wrap(i + ".00", -0.0))).as(i + ".00").isEqualTo(p);
            assertThat(partitioner.partitionOf(numeric, Row.wrap(String.valueOf(i), 0.0))).as(i + "").isEqualTo(p);
            assertThat(partitioner.partitionOf(numeric, Row.wrap(i + ".000", 0.0))).as(i + ".000").isEqualTo(p);
        }
        ChangeEvent rescale = new ChangeEvent(Op.UPDATE, numeric, Row.wrap("7.0", 1.5), Row.wrap("7.00", 1.5), Set.of(),
                new TestEvents.Counter(1), 7, Instant.EPOCH);
        List<ChangeEvent> part = partitioner.route(List.of(rescale)).get(partitioner.partitionOf(numeric,
                Row.wrap("7", 1.5)));
        assertThat(part).extracting(ChangeEvent::op).containsExactly(Op.DELETE, Op.CREATE);
        assertThat(partitioner.partitionOf(numeric, Row.wrap("NaN", 1.0))).as("NaN is kept as it is").isBetween(0, 3);
    }

    /**
     * A key change that leaves a TOASTed value unsent: the create of the new key, in another partition,
     * cannot take it from the old key's row (another worker may have deleted it by then). With {@code
     * REPLICA IDENTITY FULL} the old row holds the value: the create carries it, and no longer lists
     * the column as unchanged. With the key alone in the old row it stays unchanged (a documented limit).
     */
    @Test
    void aSplitKeyChangeCarriesUnsentValuesTheOldRowHolds() {
        LogPartitioner partitioner = new LogPartitioner(4);
        Row full = TestEvents.row(1, 5);
        Row after = Row.wrap(2L, "6.50", null, new byte[] {9}, List.of("b"), "2026-11-30T12:00:00Z");
        ChangeEvent moved = new ChangeEvent(Op.UPDATE, TestEvents.ORDERS, full, after, Set.of("doc"),
                new TestEvents.Counter(3), 7, Instant.EPOCH);
        ChangeEvent create = created(partitioner.route(List.of(moved)));
        assertThat(create.after().get(2)).isEqualTo(full.get(2));
        assertThat(create.after().get(1)).isEqualTo("6.50");
        assertThat(create.unchanged()).isEmpty();

        ChangeEvent keyOnly = new ChangeEvent(Op.UPDATE, TestEvents.ORDERS, Row.wrap(1L, null, null, null, null, null),
                after, Set.of("doc"), new TestEvents.Counter(3), 7, Instant.EPOCH);
        ChangeEvent stillUnsent = created(partitioner.route(List.of(keyOnly)));
        assertThat(stillUnsent.unchanged()).containsExactly("doc");
        assertThat(stillUnsent.after().get(2)).isNull();
    }

    private static ChangeEvent created(List<List<ChangeEvent>> routed) {
        return routed.stream().flatMap(List::stream).filter(e -> e.op() == Op.CREATE).findFirst().orElseThrow();
    }

    @Test
    void leavesTheEventsAsTheyAreWithOnePartition() {
        List<ChangeEvent> events = List.of(TestEvents.updateKey(0, 1, 2), TestEvents.insert(1, 3));
        assertThat(new LogPartitioner(1).route(events)).containsExactly(events);
    }
}
