package dev.ferry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The timing of the Log's fsyncs and the WARN of a slow one. The clock is the test's: an "fsync"
 * moves it on by as long as the case wants the fsync to take, so nothing depends on the disk's speed.
 */
class SyncTimerTest {
    private static final long MS = 1_000_000L;
    private static final Path DIR = Path.of("/state/shop/log");

    private final AtomicLong clock = new AtomicLong(5_000 * MS);
    private final List<String> lines = new ArrayList<>();
    private final List<long[]> heard = new ArrayList<>();
    private final SyncTimer timer = new SyncTimer(DIR, clock::get, lines::add);

    SyncTimerTest() {
        timer.add((nanos, bytes, events) -> heard.add(new long[] {nanos, bytes, events}));
    }

    /** An fsync that takes {@code millis} of the test's clock. */
    private void sync(long millis, long bytes, long events) throws IOException {
        timer.record(timer.time(() -> clock.addAndGet(millis * MS)), bytes, events);
    }

    /** Time passing between fsyncs. */
    private void idle(long millis) {
        clock.addAndGet(millis * MS);
    }

    @Test
    void listenersHearHowLongEachFsyncTookAndWhatItMadeDurable() throws Exception {
        sync(3, 4096, 12);
        sync(0, 80, 0);
        assertThat(heard).containsExactly(new long[] {3 * MS, 4096, 12}, new long[] {0, 80, 0});
        assertThat(lines).as("fast fsyncs are not logged").isEmpty();
    }

    @Test
    void aSlowFsyncIsLoggedAtOnceWithItsSizeAndWhatToCheck() throws Exception {
        sync(999, 100, 1);
        assertThat(lines).as("just under a second").isEmpty();
        sync(2_340, 1_234_567, 1_200);
        assertThat(lines).singleElement().asString()
                .startsWith("An fsync of the Log in /state/shop/log took 2.3 s to make 1,234,567 bytes (1,200 events) durable.")
                .contains("disk of the state folder is slow").contains("iostat -x").contains("faster one")
                .contains("at most once every 10 s");
    }

    @Test
    void aSickDiskIsLoggedAtMostOnceInTenSecondsWithTheCountSinceTheLastLine() throws Exception {
        sync(1_500, 10, 1);
        assertThat(lines).hasSize(1);
        long[] slowMillis = {1_000, 1_500, 4_000, 1_200};
        for (int i = 0; i < slowMillis.length; i++) {
            idle(500);
            sync(slowMillis[i], 1000 + i, 10 + i); // the slowest: 4.0 s, 1002 bytes, 12 events
            sync(5, 1, 1);
        }
        assertThat(lines).as("9.72 s after the first line").hasSize(1);
        idle(1_000);
        sync(1_200, 7, 7); // 10 s and more after the first line
        assertThat(lines).hasSize(2);
        assertThat(lines.get(1)).startsWith("5 fsyncs of the Log in /state/shop/log took 1 s or longer in the last 12 s. "
                + "The slowest took 4.0 s to make 1,002 bytes (12 events) durable. The disk of the state folder is slow");
        sync(1_100, 1, 1);
        assertThat(lines).as("a new interval began with the second line").hasSize(2);
    }

    @Test
    void slowFsyncsHeldBackAreLoggedByTheNextFsyncOnceTheIntervalPassedEvenAFastOne() throws Exception {
        sync(1_000, 1, 1);
        idle(100);
        sync(3_000, 2, 2);
        idle(20_000);
        sync(1, 3, 3);
        assertThat(lines).hasSize(2);
        assertThat(lines.get(1)).startsWith("An fsync of the Log in /state/shop/log took 3.0 s to make 2 bytes (2 events) "
                + "durable.");
        idle(20_000);
        sync(1, 3, 3);
        assertThat(lines).as("nothing slow since").hasSize(2);
    }

    @Test
    void eachLineNamesTheSlowestOfItsOwnIntervalNotOfAnEarlierOne() throws Exception {
        sync(3_000, 1, 1);
        idle(1_000);
        sync(5_000, 2, 2); // held back, the slowest of the second interval
        idle(10_000);
        sync(1_200, 3, 3);
        assertThat(lines).hasSize(2);
        assertThat(lines.get(1)).contains("The slowest took 5.0 s to make 2 bytes");
        idle(1_000);
        sync(1_300, 4, 4);
        idle(10_000);
        sync(1, 5, 5);
        assertThat(lines).hasSize(3);
        assertThat(lines.get(2)).as("not the 5.0 s of the line before").startsWith("An fsync of the Log in /state/shop/log "
                + "took 1.3 s to make 4 bytes (4 events) durable.");
    }

    @Test
    void slowFsyncsHeldBackWhenTheLogClosesAreLoggedThen() throws Exception {
        sync(1_000, 1, 1);
        sync(2_000, 2, 2);
        assertThat(lines).hasSize(1);
        timer.close();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(1)).startsWith("An fsync of the Log in /state/shop/log took 2.0 s");
        timer.close();
        assertThat(lines).as("nothing more held back").hasSize(2);
    }

    @Test
    void aListenerThatFailsIsReportedOnceAndTheOthersStillHear() throws Exception {
        SyncTimer failing = new SyncTimer(DIR, clock::get, lines::add);
        failing.add((nanos, bytes, events) -> {
            throw new IllegalStateException("metrics registry closed");
        });
        failing.add((nanos, bytes, events) -> heard.add(new long[] {nanos, bytes, events}));
        failing.record(failing.time(() -> clock.addAndGet(2 * MS)), 10, 1);
        failing.record(failing.time(() -> clock.addAndGet(2 * MS)), 20, 2);
        assertThat(heard).hasSize(2);
        assertThat(lines).singleElement().asString().contains("metrics registry closed").contains("Reported once");
    }

    @Test
    void aFailedFsyncIsNotRecordedAndItsErrorGoesThrough() {
        IOException failure = new IOException("Input/output error");
        assertThatThrownBy(() -> timer.time(() -> {
            clock.addAndGet(5_000 * MS);
            throw failure;
        })).isSameAs(failure);
        assertThat(heard).isEmpty();
        assertThat(lines).isEmpty();
    }

    @Test
    void theFileLogTimesEachFsyncThatMakesAppendsDurable(@TempDir Path dir) throws Exception {
        List<long[]> syncs = new ArrayList<>();
        try (FileLog log = FileLog.open(dir, TestPosition.CODEC, new FileLog.Options(1 << 20, 60_000))) {
            assertThat(log.addSyncListener((nanos, bytes, events) -> syncs.add(new long[] {nanos, bytes, events}))).isTrue();
            log.append(LogEvents.inserts(0, 3), new TestPosition(2));
            log.append(LogEvents.inserts(3, 5), new TestPosition(4));
            log.sync();
            log.sync(); // nothing new: no fsync
            log.append(List.of(), new TestPosition(9)); // only the position moves
            log.sync();
        }
        long segment = Files.size(dir.resolve(String.format("%020d.log", 0)));
        assertThat(syncs).hasSize(2);
        assertThat(syncs.get(0)[0]).isNotNegative();
        assertThat(syncs.get(0)[2]).isEqualTo(5);
        assertThat(syncs.get(1)[2]).isZero();
        assertThat(syncs.get(0)[1] + syncs.get(1)[1]).as("every byte of the segment, once").isEqualTo(segment);
        assertThat(syncs.get(1)[1]).isPositive();
    }
}
