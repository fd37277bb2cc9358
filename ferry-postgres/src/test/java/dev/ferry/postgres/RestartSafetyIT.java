package dev.ferry.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.config.ComponentConfig;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Op;
import dev.ferry.log.FileLog;
import dev.ferry.pipeline.Mode;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.source.Source;
import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.TestingPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Positions that can no longer be trusted are refused with the way to recover, never papered over:
 * a lost state folder, a state folder restored from an older copy. Tables added to a running pipeline
 * arrive with their rows.
 */
class RestartSafetyIT extends PrivatePostgresTest {
    private final PostgresSourceFactory factory = new PostgresSourceFactory();

    @TempDir
    Path dir;

    private Source source(String db, String extra) throws FerryException {
        String yaml = "type: postgres\nport: " + pg.port() + "\ndatabase: " + db + "\nuser: " + pg.user()
                + "\npassword: '" + pg.password() + "'\n" + extra;
        return factory.create(db, ComponentConfig.ofYaml("source", yaml));
    }

    private void runOnce(String db, Path state, CollectingSink sink, String extra) throws Exception {
        try (Source source = source(db, extra); FileLog log = FileLog.open(state, factory.positionCodec())) {
            new Pipeline(db, source, log, List.of(sink), List.of("collect"), 1000).run(Mode.ONCE);
        }
    }

    private String database(String name) {
        pg.createDatabase(name);
        pg.execute(name, "CREATE TABLE a (id int PRIMARY KEY)", "CREATE TABLE b (id int PRIMARY KEY)",
                "INSERT INTO a SELECT generate_series(1, 10)");
        return name;
    }

    @Test
    void lostStateFolderIsRefusedNotResnapshotedBehindTheSinksBack() throws Exception {
        String db = database("lost");
        CollectingSink sink = new CollectingSink();
        runOnce(db, dir.resolve("state1"), sink, "");
        // same output, new state folder: the sink is ahead of the (empty) Log
        assertThatThrownBy(() -> runOnce(db, dir.resolve("state2"), sink, ""))
                .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PREREQUISITE))
                .hasMessageContaining("the state folder was deleted, replaced or restored");
        // new output too: the slot exists but the state folder is new
        assertThatThrownBy(() -> runOnce(db, dir.resolve("state3"), new CollectingSink(), ""))
                .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PREREQUISITE))
                .hasMessageContaining("already exists").hasMessageContaining("pg_drop_replication_slot('ferry_lost')");
    }

    @Test
    void slotDroppedBehindFerrysBackIsRefusedNeverRecreatedSilently() throws Exception {
        String db = database("dropped");
        Path state = dir.resolve("state");
        CollectingSink sink = new CollectingSink();
        runOnce(db, state, sink, "");
        pg.execute(db, "SELECT pg_drop_replication_slot('ferry_dropped')", "INSERT INTO a SELECT generate_series(11, 20)");
        assertThatThrownBy(() -> runOnce(db, state, sink, ""))
                .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PREREQUISITE))
                .hasMessageContaining("Replication slot ferry_dropped does not exist")
                .hasMessageContaining("delete the pipeline's state folder and its sink output");
        try (java.sql.Connection c = pg.connect(db); java.sql.ResultSet rs = c.createStatement().executeQuery(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'ferry_dropped'")) {
            rs.next();
            assertThat(rs.getInt(1)).as("no new slot was created").isZero();
        }
    }

    @Test
    void stateFolderRestoredFromAnOlderCopyIsRefused() throws Exception {
        String db = database("restored");
        Path state = dir.resolve("state");
        runOnce(db, state, new CollectingSink(), "");
        Path backup = dir.resolve("backup");
        copy(state, backup);
        pg.execute(db, "INSERT INTO a SELECT generate_series(11, 20)");
        runOnce(db, state, new CollectingSink(), "");
        assertThatThrownBy(() -> runOnce(db, backup, new CollectingSink(), ""))
                .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PREREQUISITE))
                .hasMessageContaining("restored from an older copy");
    }

    @Test
    void tableAddedToTheListAfterTheFirstRunArrivesWithItsRowsAndADroppedOneIsOnlyAWarning() throws Exception {
        String db = database("added");
        Path state = dir.resolve("state");
        CollectingSink sink = new CollectingSink();
        runOnce(db, state, sink, "tables: [public.a]\n");
        assertThat(sink.events).hasSize(10);
        pg.execute(db, "INSERT INTO b SELECT generate_series(1, 7)", "INSERT INTO a VALUES (11)");
        runOnce(db, state, sink, "tables: [public.a, public.b]\n");
        List<ChangeEvent> second = sink.events.subList(10, sink.events.size());
        assertThat(second).filteredOn(e -> e.table().name().equals("b")).hasSize(7)
                .allMatch(e -> e.op() == Op.READ && !e.position().snapshot());
        assertThat(second).filteredOn(e -> e.table().name().equals("a")).extracting(ChangeEvent::op)
                .containsExactly(Op.CREATE);

        pg.execute(db, "DROP TABLE a", "INSERT INTO b VALUES (8)");
        runOnce(db, state, sink, "tables: [public.a, public.b]\n");
        assertThat(sink.events.get(sink.events.size() - 1).after().get(0)).isEqualTo(8L);
        assertThatThrownBy(() -> runOnce(db, dir.resolve("fresh"), new CollectingSink(), "tables: [public.a]\n"))
                .as("a first run still refuses a table that does not exist")
                .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONFIG))
                .hasMessageContaining("public.a");
    }

    @Test
    void slotInvalidatedByTheServerIsRefusedWithTheWayToRecover() throws Exception {
        try (TestingPostgres small = TestingPostgres.builder().setting("max_slot_wal_keep_size", "1MB")
                .setting("max_wal_size", "32MB").setting("min_wal_size", "32MB").start()) {
            small.createDatabase("lost");
            small.execute("lost", "CREATE TABLE a (id int PRIMARY KEY, pad text)");
            String yaml = "type: postgres\nport: " + small.port() + "\ndatabase: lost\nuser: " + small.user()
                    + "\npassword: '" + small.password() + "'\n";
            Path state = dir.resolve("state");
            try (Source source = factory.create("lost", ComponentConfig.ofYaml("source", yaml));
                 FileLog log = FileLog.open(state, factory.positionCodec())) {
                new Pipeline("lost", source, log, List.of(new CollectingSink()), List.of("c"), 1000).run(Mode.ONCE);
            }
            // the pipeline stays away while the server writes far more WAL than the slot may keep
            for (int i = 0; i < 6; i++) {
                small.execute("lost", "INSERT INTO a SELECT g, repeat('x', 1000) FROM generate_series(" + (i * 20000 + 1)
                        + ", " + ((i + 1) * 20000) + ") g", "CHECKPOINT");
            }
            try (Source source = factory.create("lost", ComponentConfig.ofYaml("source", yaml));
                 FileLog log = FileLog.open(state, factory.positionCodec())) {
                assertThatThrownBy(() -> new Pipeline("lost", source, log, List.of(new CollectingSink()), List.of("c"), 1000)
                        .run(Mode.ONCE))
                        .isInstanceOfSatisfying(FerryException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PREREQUISITE))
                        .hasMessageContaining("was invalidated by the server").hasMessageContaining("pg_drop_replication_slot");
            }
        }
    }

    @Test
    void invalidSlotNameIsAConfigError() {
        assertThatThrownBy(() -> source("x", "slot: My-Slot\n")).isInstanceOf(FerryException.class)
                .hasMessageContaining("source.slot must be 1 to 63 lower-case letters");
    }

    private static void copy(Path from, Path to) throws Exception {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.sorted(Comparator.naturalOrder()).toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
