package dev.ferry.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.log.FileLog;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkSettings;
import dev.ferry.source.Check;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runtime with a scripted source and sinks that fail on purpose. */
class PipelineTest {
    @TempDir
    Path dir;

    /** A sink that keeps ids; fails with the given kind while {@code down} is set. */
    static final class TestSink implements Sink {
        final List<Long> ids = new ArrayList<>();
        volatile boolean down;
        /** While set, even the committed offset cannot be read (CONNECTIVITY), as when the target is down. */
        volatile boolean unreachable;
        volatile ErrorKind failure = ErrorKind.CONNECTIVITY;
        volatile int attempts;
        /** The most events one write carried. */
        volatile int largestWrite;
        /** The ids of each write that succeeded, in order. */
        final List<List<Long>> writes = new ArrayList<>();
        /** Ids this sink refuses as records it can never hold (kind DATA), rolling back the whole write. */
        final java.util.Set<Long> refuse = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private Offset committed;

        @Override
        public List<Check> check() {
            return List.of();
        }

        @Override
        public synchronized Optional<Offset> committed() throws FerryException {
            if (unreachable) {
                throw new FerryException(failure, "test sink is down on purpose");
            }
            return Optional.ofNullable(committed);
        }

        @Override
        public synchronized void write(List<ChangeEvent> events, Offset last) throws FerryException {
            attempts++;
            largestWrite = Math.max(largestWrite, events.size());
            if (down) {
                throw new FerryException(failure, "test sink is down on purpose");
            }
            for (ChangeEvent e : events) {
                if (refuse.contains((Long) e.after().get(0))) {
                    throw new FerryException(ErrorKind.DATA, "id " + e.after().get(0) + " is refused on purpose");
                }
            }
            List<Long> written = new ArrayList<>();
            for (ChangeEvent e : events) {
                written.add((Long) e.after().get(0));
            }
            ids.addAll(written);
            writes.add(written);
            committed = last;
        }

        @Override
        public synchronized void replay(ChangeEvent e, Offset offset) throws FerryException {
            if (refuse.contains((Long) e.after().get(0))) {
                throw new FerryException(ErrorKind.DATA, "id " + e.after().get(0) + " is still refused");
            }
            ids.add((Long) e.after().get(0));
        }

        synchronized List<Long> ids() {
            return List.copyOf(ids);
        }

        @Override
        public void close() {
        }
    }

    /** Runs the pipeline on its own thread; a failure lands in {@code failed}. */
    private static Thread inBackground(Pipeline pipeline, Mode mode, AtomicReference<Throwable> failed) {
        Thread runner = new Thread(() -> {
            try {
                pipeline.run(mode);
            } catch (Throwable t) {
                failed.set(t);
            }
        }, "pipeline-under-test");
        runner.start();
        return runner;
    }

    private static List<Long> upTo(long n) {
        return LongStream.rangeClosed(1, n).boxed().toList();
    }

    @Test
    void gatheringReadsLessOftenWhileReadsFindLittleAndAtOnceAgainWhenTheyFindMore() {
        long ms = 1_000_000L;
        assertThat(Pipeline.nextGatherRead(5 * ms, 20, 1_000)).isEqualTo(10 * ms);
        assertThat(Pipeline.nextGatherRead(20 * ms, 0, 0)).isEqualTo(40 * ms);
        assertThat(Pipeline.nextGatherRead(40 * ms, 110, 30_000)).as("at most 40 ms").isEqualTo(40 * ms);
        assertThat(Pipeline.nextGatherRead(40 * ms, 10, 64 * 1024)).as("wide rows: back to 5 ms").isEqualTo(5 * ms);
        // MySQL's reader queue full: about 200 narrow changes, 8 bytes a value
        assertThat(Pipeline.nextGatherRead(40 * ms, 205, 8_000)).as("many narrow changes: back to 5 ms")
                .isEqualTo(5 * ms);
    }

    @Test
    void everySinkGetsEveryEventOnceAndRetentionFollowsTheSlowest() throws Exception {
        TestSink a = new TestSink();
        TestSink b = new TestSink();
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC, 2048)) {
            ScriptedSource source = new ScriptedSource(5_000, 100);
            assertThat(new Pipeline("p", source, log, List.of(a, b), List.of("a", "b"), 300).run(Mode.ONCE)).isTrue();
            assertThat(source.acknowledged).isEqualTo(5_000);
            assertThat(log.start().value()).as("segments both sinks are past are deleted").isGreaterThan(0);
        }
        assertThat(a.ids()).isEqualTo(upTo(5_000));
        assertThat(b.ids()).isEqualTo(upTo(5_000));
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.filter(f -> f.toString().endsWith(".log")).count()).isLessThan(5);
        }
    }

    @Test
    void aSinkThatIsDownDoesNotStopTheOtherAndCatchesUpWhenItIsBack() throws Exception {
        TestSink healthy = new TestSink();
        TestSink flaky = new TestSink();
        flaky.down = true;
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC, 4096)) {
            ScriptedSource source = new ScriptedSource(3_000, 100);
            Pipeline pipeline = new Pipeline("p", source, log, List.of(healthy, flaky), List.of("healthy", "flaky"), 500);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread runner = inBackground(pipeline, Mode.STREAM, failed);
            long deadline = System.currentTimeMillis() + 10_000;
            while (healthy.ids().size() < 3_000 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            assertThat(healthy.ids()).as("the healthy sink got everything while the other was down").isEqualTo(upTo(3_000));
            assertThat(flaky.ids()).isEmpty();
            Thread.sleep(1_200);
            assertThat(flaky.attempts).as("retried with backoff").isBetween(2, 6);
            assertThat(source.acknowledged).as("capture went on too").isEqualTo(3_000);
            assertThat(log.start().value()).as("the Log keeps what the down sink has not taken").isZero();

            flaky.down = false;
            deadline = System.currentTimeMillis() + 20_000;
            while (flaky.ids().size() < 3_000 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            pipeline.stop();
            runner.join(10_000);
            assertThat(failed.get()).isNull();
        }
        assertThat(flaky.ids()).isEqualTo(upTo(3_000));
        assertThat(healthy.ids()).isEqualTo(upTo(3_000));
    }

    /**
     * A Log that cannot be written while the pipeline is stopping (a disk error of the file Log, or a
     * Kafka Log fenced by another capture) stays the Log's own failure; only an append that gave up its
     * retries because of the stop ({@code AppendStoppedException}) is reported as "stopped while...".
     */
    @Test
    void aLogFailureWhileStoppingIsNotRelabelledAsAStopDuringAnOutage() throws Exception {
        for (boolean stoppedRetrying : new boolean[] {false, true}) {
            Path folder = Files.createDirectories(dir.resolve("log-" + stoppedRetrying));
            try (FileLog file = FileLog.open(folder, ScriptedSource.CODEC)) {
                Pipeline[] pipeline = new Pipeline[1];
                java.util.concurrent.atomic.AtomicBoolean failing = new java.util.concurrent.atomic.AtomicBoolean();
                dev.ferry.log.Log log = (dev.ferry.log.Log) java.lang.reflect.Proxy.newProxyInstance(
                        getClass().getClassLoader(), new Class<?>[] {dev.ferry.log.Log.class}, (proxy, method, args) -> {
                            if (method.getName().equals("append") && failing.get()) {
                                pipeline[0].stop(); // the failure comes while stopping
                                throw stoppedRetrying
                                        ? new dev.ferry.log.AppendStoppedException("brokers away", null)
                                        : new java.io.IOException("Input/output error");
                            }
                            try {
                                return method.invoke(file, args);
                            } catch (java.lang.reflect.InvocationTargetException e) {
                                throw e.getCause();
                            }
                        });
                TestSink sink = new TestSink();
                pipeline[0] = new Pipeline("p", new ScriptedSource(1_000_000, 10), log, List.of(sink), List.of("s"), 50);
                Thread failLater = new Thread(() -> {
                    while (file.end().value() < 50) {
                        Thread.onSpinWait();
                    }
                    failing.set(true);
                });
                failLater.start();
                assertThatThrownBy(() -> pipeline[0].run(Mode.STREAM)).isInstanceOfSatisfying(FerryException.class, e -> {
                    if (stoppedRetrying) {
                        assertThat(e.kind()).isEqualTo(ErrorKind.CONNECTIVITY);
                        assertThat(e.getMessage()).contains("Stopped while the Log could not be written");
                    } else {
                        assertThat(e.kind()).isEqualTo(ErrorKind.INTERNAL);
                        assertThat(e.getMessage()).contains("Cannot write the Log").contains("Input/output error");
                    }
                });
                failLater.join();
            }
        }
    }

    @Test
    void aBatchRunGivesUpOnASinkThatStaysDown() throws Exception {
        TestSink down = new TestSink();
        down.down = true;
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline pipeline = new Pipeline("p", new ScriptedSource(100, 10), log, List.of(down), List.of("down"), 50);
            pipeline.onceRetryMillis = 1_000;
            assertThatThrownBy(() -> pipeline.run(Mode.ONCE)).isInstanceOfSatisfying(FerryException.class,
                    e -> assertThat(e.kind()).isEqualTo(ErrorKind.CONNECTIVITY));
        }
    }

    @Test
    void aSinkErrorThatIsNotTransientStopsThePipelineAtOnce() throws Exception {
        TestSink broken = new TestSink();
        broken.down = true;
        broken.failure = ErrorKind.INTERNAL;
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline pipeline = new Pipeline("p", new ScriptedSource(100, 10), log, List.of(broken), List.of("b"), 50);
            assertThatThrownBy(() -> pipeline.run(Mode.STREAM)).isInstanceOf(FerryException.class)
                    .hasMessageContaining("down on purpose");
            assertThat(broken.attempts).isEqualTo(1);
        }
    }

    @Test
    void atTheSizeCapCapturePausesUntilTheSlowSinkCatchesUp() throws Exception {
        TestSink slow = new TestSink();
        slow.down = true;
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC, 4096)) {
            ScriptedSource source = new ScriptedSource(20_000, 100);
            Pipeline pipeline = new Pipeline("p", source, log, List.of(slow), List.of("slow"), 500, 3 * 4096, 0);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread runner = inBackground(pipeline, Mode.ONCE, failed);
            long deadline = System.currentTimeMillis() + 5_000;
            while (!pipeline.backpressured() && System.currentTimeMillis() < deadline) {
                Thread.sleep(10);
            }
            assertThat(pipeline.backpressured()).isTrue();
            long acknowledged = source.acknowledged;
            Thread.sleep(500);
            assertThat(source.acknowledged).as("capture paused").isEqualTo(acknowledged).isLessThan(20_000);
            assertThat(log.sizeBytes()).isLessThan(5 * 4096);
            slow.down = false;
            runner.join(30_000);
            assertThat(failed.get()).isNull();
            assertThat(pipeline.backpressured()).isFalse();
        }
        assertThat(slow.ids()).isEqualTo(upTo(20_000));
    }

    @Test
    void withAnFsyncIntervalEverythingIsAcknowledgedAndDeliveredOnceSynced() throws Exception {
        TestSink sink = new TestSink();
        ScriptedSource source = new ScriptedSource(10_000, 50);
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC, new FileLog.Options(1 << 20, 50))) {
            assertThat(new Pipeline("p", source, log, List.of(sink), List.of("s"), 700).run(Mode.ONCE)).isTrue();
        }
        assertThat(source.acknowledged).isEqualTo(10_000);
        assertThat(sink.ids()).isEqualTo(upTo(10_000));
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            assertThat(log.end()).isEqualTo(Offset.of(10_000));
        }
    }

    @Test
    void withAnFsyncIntervalTheChangesOfOneIntervalGoIntoOneAppend() throws Exception {
        TestSink sink = new TestSink();
        ScriptedSource source = new ScriptedSource(300, 1); // a transaction of one change per poll
        source.pollPauseMillis = 1;
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC, new FileLog.Options(1 << 20, 500))) {
            assertThat(new Pipeline("p", source, log, List.of(sink), List.of("s"), 700).run(Mode.ONCE)).isTrue();
        }
        assertThat(sink.ids()).isEqualTo(upTo(300));
        long frames;
        try (Stream<Path> files = Files.list(dir)) {
            // the index sidecar holds 16 bytes per frame; an append of a few events is one frame
            frames = files.filter(f -> f.toString().endsWith(".index")).mapToLong(f -> f.toFile().length()).sum() / 16;
        }
        // one append per poll would be 300 frames; gathered, one per 500 ms interval (300+ ms of polls)
        assertThat(frames).as("frames in the Log").isBetween(1L, 30L);
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 40, unit = java.util.concurrent.TimeUnit.SECONDS)
    void aLongFsyncIntervalDoesNotHoldAFastSourceBackWhileChangesAreGathered() throws Exception {
        TestSink sink = new TestSink();
        ScriptedSource source = new ScriptedSource(60_000, 1); // as fast as it is read, a change per poll
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC, new FileLog.Options(1 << 20, 4_000))) {
            // gathering read what arrived only when the sync was due: 4,096 changes per 4 s interval, 60 s
            assertThat(new Pipeline("p", source, log, List.of(sink), List.of("s"), 700).run(Mode.ONCE)).isTrue();
        }
        assertThat(sink.ids()).isEqualTo(upTo(60_000));
    }

    @Test
    void gatheringForALongFsyncIntervalHoldsAboutSixteenMegabytesAtMost() throws Exception {
        TestSink sink = new TestSink();
        ScriptedSource source = new ScriptedSource(1_000, 4); // 1,000 rows of 50 kB, 4 a poll, as fast as read
        for (long n = 1; n <= 1_000; n++) {
            source.wide.add(n);
        }
        try (AppendSizes log = new AppendSizes(FileLog.open(dir, ScriptedSource.CODEC, new FileLog.Options(1 << 30, 4_000)))) {
            assertThat(new Pipeline("p", source, log, List.of(sink), List.of("s"), 700).run(Mode.ONCE)).isTrue();
            // gathering by events only took all 1,000 (50 MB) into one append: 4,096 rows of a megabyte are 4 GB
            assertThat(log.mostEvents).as("rows in one append, %,d bytes", log.mostBytes).isLessThan(400);
        }
        assertThat(sink.ids()).isEqualTo(upTo(1_000));
    }

    @Test
    void whileChangesTrickleASinkIsCommittedNoMoreOftenThanItsCommitInterval() throws Exception {
        TestSink grouped = new TestSink();
        TestSink eager = new TestSink();
        ScriptedSource source = new ScriptedSource(150, 1);
        source.pollPauseMillis = 2;
        long start = System.nanoTime();
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline p = new Pipeline("p", source, log, List.of(grouped, eager), List.of("grouped", "eager"), 1000);
            p.sinkSettings(List.of(new SinkSettings(100), new SinkSettings(0)));
            assertThat(p.run(Mode.ONCE)).isTrue();
        }
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
        assertThat(grouped.ids()).isEqualTo(upTo(150));
        assertThat(eager.ids()).isEqualTo(upTo(150));
        assertThat(grouped.attempts).as("writes in %d ms at most one per 100 ms", elapsedMillis)
                .isLessThanOrEqualTo((int) (elapsedMillis / 100) + 2);
        assertThat(eager.attempts).as("without an interval each trickle is its own batch").isGreaterThan(grouped.attempts * 2);
    }

    @Test
    void aSinksBatchEventsBoundsItsWritesWhateverThePipelinesBatch() throws Exception {
        TestSink small = new TestSink();
        TestSink usual = new TestSink();
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline p = new Pipeline("p", new ScriptedSource(5_000, 1_000), log, List.of(small, usual), List.of("small", "usual"), 1000);
            p.sinkSettings(List.of(new SinkSettings(0, SinkSettings.RecordErrors.FAIL, 300), new SinkSettings(0)));
            assertThat(p.run(Mode.ONCE)).isTrue();
        }
        assertThat(small.ids()).isEqualTo(upTo(5_000));
        assertThat(usual.ids()).isEqualTo(upTo(5_000));
        assertThat(small.largestWrite).isEqualTo(300);
        assertThat(usual.largestWrite).isEqualTo(1000);
    }

    @Test
    void aSinksBatchBytesSplitsBatchesItsEventCountWouldAllow() throws Exception {
        TestSink bytesBound = new TestSink();
        TestSink usual = new TestSink();
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline p = new Pipeline("p", new ScriptedSource(5_000, 1_000), log, List.of(bytesBound, usual),
                    List.of("bytes", "usual"), 1000);
            p.sinkSettings(List.of(new SinkSettings(0, SinkSettings.RecordErrors.FAIL, 0, 1024), new SinkSettings(0)));
            assertThat(p.run(Mode.ONCE)).isTrue();
        }
        assertThat(bytesBound.ids()).isEqualTo(upTo(5_000));
        assertThat(usual.ids()).isEqualTo(upTo(5_000));
        // each event takes a few dozen bytes in the Log: 1024 bytes hold some dozens of them, never 1000
        assertThat(bytesBound.largestWrite).isBetween(2, 100);
        assertThat(bytesBound.attempts).isGreaterThan(50);
        assertThat(usual.largestWrite).isEqualTo(1000);
    }

    @Test
    void aBatchFullByBytesIsWrittenAtOnceWhateverTheCommitInterval() throws Exception {
        TestSink sink = new TestSink();
        ScriptedSource source = new ScriptedSource(1_000_000, 50);
        source.pollPauseMillis = 5;
        AtomicReference<Throwable> failed = new AtomicReference<>();
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            // batch_events out of reach (a million at about 10,000 events a second): only bytes fill a batch
            Pipeline p = new Pipeline("p", source, log, List.of(sink), List.of("s"), 1_000_000);
            p.sinkSettings(List.of(new SinkSettings(600_000, SinkSettings.RecordErrors.FAIL, 1_000_000, 1024)));
            Thread runner = inBackground(p, Mode.STREAM, failed);
            // the first write goes at once (after a quiet spell); held by the 10-minute interval, no other
            // would come before the stop: these are the full ones
            for (int i = 0; i < 3000 && sink.attempts < 4 && failed.get() == null; i++) {
                Thread.sleep(10);
            }
            p.stop();
            runner.join(30_000);
            assertThat(failed.get()).isNull();
            assertThat(sink.attempts).as("batches full by bytes were written during the interval").isGreaterThanOrEqualTo(4);
            // each event takes a few dozen bytes in the Log: 1024 bytes hold some dozens of them
            assertThat(sink.largestWrite).as("a batch is bounded by batch_bytes").isBetween(2, 100);
            assertThat(sink.ids()).isEqualTo(upTo(sink.ids().size()));
        }
    }

    @Test
    void aChangeLargerThanWhatIsLeftOfBatchBytesStartsTheNextBatchAndOneLargerThanItIsWrittenAlone() throws Exception {
        TestSink sink = new TestSink();
        ScriptedSource source = new ScriptedSource(1_000_000, 1);
        source.pollPauseMillis = 5;
        source.wide.add(40L); // 50 kB, beyond batch_bytes
        AtomicReference<Throwable> failed = new AtomicReference<>();
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline p = new Pipeline("p", source, log, List.of(sink), List.of("s"), 1_000_000);
            p.sinkSettings(List.of(new SinkSettings(600_000, SinkSettings.RecordErrors.FAIL, 1_000_000, 10_000)));
            Thread runner = inBackground(p, Mode.STREAM, failed);
            // changes come one a poll, so the batch held by the interval is gathered across many reads
            for (int i = 0; i < 3000 && !sink.ids().contains(40L) && failed.get() == null; i++) {
                Thread.sleep(10);
            }
            p.stop();
            runner.join(30_000);
            assertThat(failed.get()).isNull();
            List<List<Long>> writes;
            synchronized (sink) {
                writes = new ArrayList<>(sink.writes);
            }
            assertThat(writes).as("the wide change is written alone").contains(List.of(40L));
            assertThat(writes.get(writes.indexOf(List.of(40L)) - 1)).as("the batch gathered before it is written without it")
                    .last().isEqualTo(39L);
        }
    }

    @Test
    void aStopDoesNotWaitOutALongCommitInterval() throws Exception {
        TestSink sink = new TestSink();
        ScriptedSource source = new ScriptedSource(1_000_000, 1);
        source.pollPauseMillis = 5;
        AtomicReference<Throwable> failed = new AtomicReference<>();
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline p = new Pipeline("p", source, log, List.of(sink), List.of("s"), 1000);
            p.sinkSettings(List.of(new SinkSettings(60_000)));
            Thread runner = inBackground(p, Mode.STREAM, failed);
            while (sink.ids().isEmpty()) {
                Thread.sleep(10); // the first change goes at once; the next ones wait for the interval
            }
            Thread.sleep(200);
            p.stop();
            runner.join(10_000);
            assertThat(runner.isAlive()).as("stopped without waiting out the 60 s interval").isFalse();
            assertThat(failed.get()).isNull();
            assertThat(sink.ids()).as("what was captured is delivered before the stop").hasSizeGreaterThan(1)
                    .isEqualTo(upTo(sink.ids().size()));
        }
    }

    @Test
    void deliveredSegmentsAreKeptForTheRetentionPeriod() throws Exception {
        TestSink sink = new TestSink();
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC, 2048)) {
            new Pipeline("p", new ScriptedSource(3_000, 100), log, List.of(sink), List.of("s"), 300, 0, 3_600_000)
                    .run(Mode.ONCE);
            assertThat(log.start().value()).as("an hour's retention keeps every delivered segment").isZero();
        }
        assertThat(sink.ids()).isEqualTo(upTo(3_000));
    }

    @Test
    void atTheCapDeliveredSegmentsGoEvenWithinTheirRetentionSoCaptureNeverStallsForGood() throws Exception {
        TestSink fast = new TestSink();
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC, 4096)) {
            Pipeline pipeline = new Pipeline("p", new ScriptedSource(6_000, 100), log, List.of(fast), List.of("fast"), 500,
                    3 * 4096, 3_600_000);
            Thread runner = new Thread(() -> {
                try {
                    pipeline.run(Mode.ONCE);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            runner.start();
            runner.join(30_000);
            assertThat(runner.isAlive()).as("capture stalled at the cap").isFalse();
        }
        assertThat(fast.ids()).isEqualTo(upTo(6_000));
    }

    @Test
    void aLostSourceIsReconnectedAndResumedWithoutLossOrDuplicates() throws Exception {
        TestSink sink = new TestSink();
        ScriptedSource source = new ScriptedSource(5_000, 100);
        source.goDownAfter = 2_000;
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline pipeline = new Pipeline("p", source, log, List.of(sink), List.of("s"), 300);
            Thread upAgain = new Thread(() -> {
                try {
                    while (!source.down) {
                        Thread.sleep(5);
                    }
                    Thread.sleep(1_500);
                    source.down = false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            upAgain.start();
            assertThat(pipeline.run(Mode.ONCE)).isTrue();
            upAgain.join();
        }
        assertThat(source.starts).isGreaterThanOrEqualTo(2);
        assertThat(sink.ids()).isEqualTo(upTo(5_000));
    }

    @Test
    void aStreamWaitsForASourceThatIsAwayAtStartAndABatchRunFailsAtOnce() throws Exception {
        TestSink sink = new TestSink();
        ScriptedSource source = new ScriptedSource(2_000, 100);
        source.down = true;
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline batch = new Pipeline("p", source, log, List.of(sink), List.of("s"), 300);
            assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(FerryException.class, () -> batch.run(Mode.ONCE)).kind())
                    .isEqualTo(ErrorKind.CONNECTIVITY);
        }
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline pipeline = new Pipeline("p", source, log, List.of(sink), List.of("s"), 300);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread runner = inBackground(pipeline, Mode.STREAM, failed);
            Thread.sleep(1_000);
            assertThat(runner.isAlive()).as("waiting for the source").isTrue();
            source.down = false;
            long deadline = System.currentTimeMillis() + 30_000;
            while (sink.ids().size() < 2_000 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            pipeline.stop();
            runner.join(10_000);
            assertThat(failed.get()).isNull();
        }
        assertThat(sink.ids()).isEqualTo(upTo(2_000));
    }

    @Test
    void aStopWhileTheSourceIsAwayIsACleanStop() throws Exception {
        TestSink sink = new TestSink();
        ScriptedSource source = new ScriptedSource(5_000, 100);
        source.goDownAfter = 1_000;
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline pipeline = new Pipeline("p", source, log, List.of(sink), List.of("s"), 300);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread runner = inBackground(pipeline, Mode.STREAM, failed);
            while (!source.down) {
                Thread.sleep(5);
            }
            Thread.sleep(1_000);
            long stoppedAt = System.currentTimeMillis();
            pipeline.stop();
            runner.join(10_000);
            assertThat(runner.isAlive()).isFalse();
            assertThat(System.currentTimeMillis() - stoppedAt).isLessThan(3_000);
            assertThat(failed.get()).isNull();
        }
        assertThat(sink.ids()).isEqualTo(upTo(1_000));
    }

    @Test
    void restartResumesAfterTheLogsPositionAndTheSinksOffset() throws Exception {
        TestSink sink = new TestSink();
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            new Pipeline("p", new ScriptedSource(1_000, 64), log, List.of(sink), List.of("s"), 100).run(Mode.ONCE);
        }
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            new Pipeline("p", new ScriptedSource(2_500, 64), log, List.of(sink), List.of("s"), 100).run(Mode.ONCE);
        }
        assertThat(sink.ids()).isEqualTo(upTo(2_500));
    }

    @Test
    void aRefusedRecordGoesToTheDeadLetterLogTheRestFlowsAndReplayDeliversIt() throws Exception {
        TestSink sink = new TestSink();
        TestSink other = new TestSink();
        sink.refuse.addAll(List.of(500L, 1_234L, 3_000L));
        DeadLetterLog dlq = new DeadLetterLog(dir.resolve("state"), ScriptedSource.CODEC);
        Pipeline p;
        try (FileLog log = FileLog.open(dir.resolve("log"), ScriptedSource.CODEC)) {
            p = new Pipeline("p", new ScriptedSource(3_000, 100), log, List.of(sink, other), List.of("picky", "other"), 300);
            p.sinkSettings(List.of(new SinkSettings(0), new SinkSettings(0)));
            p.deadLetters(dlq);
            assertThat(p.run(Mode.ONCE)).isTrue();
        }
        List<Long> expected = new ArrayList<>(upTo(3_000));
        expected.removeAll(sink.refuse);
        assertThat(sink.ids()).as("everything but the refused records, in order").isEqualTo(expected);
        assertThat(sink.committed()).as("the offset moved past the refused last event").contains(Offset.of(2_999));
        assertThat(other.ids()).as("the other sink is not affected").isEqualTo(upTo(3_000));
        assertThat(p.stats().sinks().get(0).deadLettered()).isEqualTo(3);

        List<DeadLetterLog.Entry> entries = dlq.list();
        assertThat(entries).extracting(DeadLetterLog.Entry::id).containsExactly("picky/499", "picky/1233", "picky/2999");
        DeadLetterLog.Entry first = entries.get(0);
        assertThat(first.reason()).isEqualTo("id 500 is refused on purpose");
        assertThat(first.table()).isEqualTo("public.t");
        assertThat(first.position()).isEqualTo("#500");
        assertThat(first.envelope().path("after").path("id").asLong()).isEqualTo(500);
        assertThat(first.stackTrace()).contains("FerryException");
        assertThat(dlq.event(first).after().get(0)).isEqualTo(500L);
        assertThat(dlq.counts()).containsExactly(java.util.Map.entry("picky", 3));

        sink.refuse.remove(500L);
        sink.replay(dlq.event(first), Offset.of(first.offset()));
        assertThat(dlq.remove(first.id())).isTrue();
        assertThat(dlq.remove(first.id())).as("removing twice removes nothing").isFalse();
        assertThat(sink.ids()).endsWith(500L);
        assertThat(dlq.list()).hasSize(2);
    }

    @Test
    void withSkipARefusedRecordIsCountedAndLeftOut() throws Exception {
        TestSink sink = new TestSink();
        sink.refuse.add(77L);
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline p = new Pipeline("p", new ScriptedSource(200, 50), log, List.of(sink), List.of("s"), 100);
            p.sinkSettings(List.of(new SinkSettings(0, SinkSettings.RecordErrors.SKIP)));
            assertThat(p.run(Mode.ONCE)).isTrue();
            assertThat(p.stats().sinks().get(0).skipped()).isEqualTo(1);
        }
        assertThat(sink.ids()).hasSize(199).doesNotContain(77L);
    }

    @Test
    void withFailARefusedRecordStopsThePipelineNamingItsOffsetAndPosition() throws Exception {
        TestSink sink = new TestSink();
        sink.refuse.add(77L);
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            Pipeline p = new Pipeline("p", new ScriptedSource(200, 50), log, List.of(sink), List.of("s"), 100);
            p.sinkSettings(List.of(new SinkSettings(0, SinkSettings.RecordErrors.FAIL)));
            p.deadLetters(new DeadLetterLog(dir.resolve("state"), ScriptedSource.CODEC));
            assertThatThrownBy(() -> p.run(Mode.ONCE)).isInstanceOfSatisfying(FerryException.class, e -> {
                assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
                assertThat(e.getMessage()).contains("offset 76", "position #77", "id 77 is refused on purpose",
                        "record_errors: fail");
            });
        }
        assertThat(sink.ids()).as("everything before it is delivered").isEqualTo(upTo(76));
        assertThat(sink.committed()).contains(Offset.of(75));
    }

    @Test
    void aSinkThatRefusesEverythingStopsThePipelineInsteadOfFillingTheDeadLetterLog() throws Exception {
        TestSink sink = new TestSink();
        LongStream.rangeClosed(41, 5_000).forEach(sink.refuse::add);
        DeadLetterLog dlq = new DeadLetterLog(dir.resolve("state"), ScriptedSource.CODEC);
        try (FileLog log = FileLog.open(dir.resolve("log"), ScriptedSource.CODEC)) {
            Pipeline p = new Pipeline("p", new ScriptedSource(5_000, 500), log, List.of(sink), List.of("broken"), 1_000);
            p.sinkSettings(List.of(new SinkSettings(0)));
            p.deadLetters(dlq);
            assertThatThrownBy(() -> p.run(Mode.ONCE)).isInstanceOfSatisfying(FerryException.class, e -> {
                assertThat(e.kind()).isEqualTo(ErrorKind.DATA);
                assertThat(e.getMessage()).contains("refused " + Delivery.MAX_REFUSALS_IN_A_ROW + " events in a row",
                        "at offset " + (40 + Delivery.MAX_REFUSALS_IN_A_ROW));
            });
        }
        assertThat(sink.ids()).isEqualTo(upTo(40));
        assertThat(dlq.list()).hasSize(Delivery.MAX_REFUSALS_IN_A_ROW);
        assertThat(sink.committed()).as("the event that tripped the breaker stays in the Log")
                .contains(Offset.of(39 + Delivery.MAX_REFUSALS_IN_A_ROW));
    }

    @Test
    void aSinkThatIsDownWhenThePipelineStartsIsWaitedForWhileTheOtherFlows() throws Exception {
        TestSink healthy = new TestSink();
        TestSink late = new TestSink();
        late.down = true;
        late.unreachable = true;
        try (FileLog log = FileLog.open(dir, ScriptedSource.CODEC)) {
            ScriptedSource source = new ScriptedSource(2_000, 100);
            Pipeline pipeline = new Pipeline("p", source, log, List.of(healthy, late), List.of("healthy", "late"), 500);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread runner = inBackground(pipeline, Mode.STREAM, failed);
            long deadline = System.currentTimeMillis() + 10_000;
            while (healthy.ids().size() < 2_000 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            assertThat(healthy.ids()).isEqualTo(upTo(2_000));
            assertThat(failed.get()).as("a sink down at the start does not fail the run").isNull();
            late.unreachable = false;
            late.down = false;
            deadline = System.currentTimeMillis() + 20_000;
            while (late.ids().size() < 2_000 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            pipeline.stop();
            runner.join(10_000);
            assertThat(failed.get()).isNull();
        }
        assertThat(late.ids()).isEqualTo(upTo(2_000));
    }
}
