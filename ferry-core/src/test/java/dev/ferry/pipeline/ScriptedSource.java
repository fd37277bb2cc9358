package dev.ferry.pipeline;

import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.LogicalType;
import dev.ferry.event.Op;
import dev.ferry.event.Row;
import dev.ferry.event.TableId;
import dev.ferry.event.TableSchema;
import dev.ferry.source.Check;
import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import dev.ferry.source.Source;
import dev.ferry.source.SourceBatch;
import dev.ferry.source.SourceInfo;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A source of our own making (not a database double): it replays numbered inserts in fixed
 * batches, for pipeline tests that need no server. Resumes after a position like a real source.
 */
final class ScriptedSource implements Source {
    record Seq(long n) implements Position {
        @Override
        public int compareTo(Position o) {
            return Long.compare(n, ((Seq) o).n);
        }

        @Override
        public String display() {
            return "#" + n;
        }

        @Override
        public boolean snapshot() {
            return false;
        }

        @Override
        public Map<String, Object> envelopeFields() {
            return Map.of("seq", n);
        }
    }

    static final PositionCodec CODEC = new PositionCodec() {
        @Override
        public byte[] encode(Position p) {
            return ByteBuffer.allocate(9).put((byte) 1).putLong(((Seq) p).n).array();
        }

        @Override
        public Position decode(byte[] b) {
            ByteBuffer buf = ByteBuffer.wrap(b);
            if (buf.get() != 1) {
                throw new IllegalArgumentException("version");
            }
            return new Seq(buf.getLong());
        }
    };

    static final TableSchema T = new TableSchema(new TableId("public", "t"),
            List.of(Column.of("id", LogicalType.INT64, "bigint", true)));

    /** Of the events whose id is in {@link #wide}: a text column of {@link #wideChars} beside the id. */
    static final TableSchema W = new TableSchema(new TableId("public", "w"),
            List.of(Column.of("id", LogicalType.INT64, "bigint", true), Column.of("pad", LogicalType.STRING, "text", false)));

    private final long total;
    /** Ids of the events that are wide rows of {@link #W}. */
    final java.util.Set<Long> wide = java.util.concurrent.ConcurrentHashMap.newKeySet();
    volatile int wideChars = 50_000;
    private final int batch;
    private long next = 1;
    volatile long acknowledged;
    /** While set, the "server" is unreachable: poll and start fail with CONNECTIVITY. */
    volatile boolean down;
    /** Between start and close: poll is only called then. */
    private volatile boolean open;
    /** Polls once this many events were returned make {@link #down} true (0: never). */
    volatile long goDownAfter;
    volatile int starts;
    private volatile boolean stopped;
    /** How long each poll that returns events takes first: a source whose changes trickle. */
    volatile long pollPauseMillis;

    /** Events 1..total in batches of {@code batch}. */
    ScriptedSource(long total, int batch) {
        this.total = total;
        this.batch = batch;
    }

    static ChangeEvent event(long n) {
        return new ChangeEvent(Op.CREATE, T, null, Row.wrap(n), Set.of(), new Seq(n), n, Instant.now());
    }

    @Override
    public SourceInfo info() {
        return new SourceInfo("scripted", "test", "db");
    }

    @Override
    public List<Check> check() {
        return List.of();
    }

    @Override
    public Position end() {
        return new Seq(total);
    }

    @Override
    public void start(Optional<Position> resumeAfter, boolean startingOver) throws dev.ferry.error.FerryException {
        if (down) {
            throw new dev.ferry.error.FerryException(dev.ferry.error.ErrorKind.CONNECTIVITY, "scripted server is down");
        }
        starts++;
        open = true;
        stopped = false;
        next = resumeAfter.map(p -> ((Seq) p).n + 1).orElse(1L);
    }

    @Override
    public SourceBatch poll(Duration maxWait) throws InterruptedException, dev.ferry.error.FerryException {
        if (!open) {
            // as a real source, whose connection and decoder are gone once closed
            throw new IllegalStateException("poll on a source that is closed or not started");
        }
        if (goDownAfter > 0 && next > goDownAfter) {
            goDownAfter = 0;
            down = true;
        }
        if (down) {
            throw new dev.ferry.error.FerryException(dev.ferry.error.ErrorKind.CONNECTIVITY, "scripted server is down");
        }
        if (pollPauseMillis > 0 && next <= total && !stopped) {
            Thread.sleep(pollPauseMillis);
        }
        List<ChangeEvent> out = new ArrayList<>();
        while (out.size() < batch && next <= total && !stopped) {
            long n = next++;
            out.add(wide.contains(n) ? new ChangeEvent(Op.CREATE, W, null, Row.wrap(n, "x".repeat(wideChars)), Set.of(),
                    new Seq(n), n, Instant.now()) : event(n));
        }
        if (out.isEmpty()) {
            Thread.sleep(Math.min(20, maxWait.toMillis()));
        }
        return new SourceBatch(out, new Seq(next - 1));
    }

    @Override
    public boolean caughtUp(Position end) {
        return next - 1 >= ((Seq) end).n;
    }

    @Override
    public void acknowledge(Position durable) {
        acknowledged = ((Seq) durable).n;
    }

    @Override
    public void stop() {
        stopped = true;
    }

    @Override
    public void close() {
        open = false;
    }
}
