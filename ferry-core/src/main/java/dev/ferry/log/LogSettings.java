package dev.ferry.log;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import java.util.List;

/**
 * The {@code log:} section of a pipeline file for the embedded Log ({@code type: file}, the default):
 * how it is kept. Every key is optional.
 *
 * @param options             segment size and fsync policy for {@link FileLog}
 * @param maxBytes            0, or the size at which capture pauses until sinks catch up
 * @param retainDeliveredMillis how long segments every sink has taken are kept (for replay, and for
 *                            sinks added later); 0 deletes them at once
 */
public record LogSettings(FileLog.Options options, long maxBytes, long retainDeliveredMillis) {
    public static final Setting<String> FSYNC = Setting.oneOf("fsync",
            "interval: group commit, one fsync for whatever was appended within fsync_interval_ms (changes are "
                    + "acknowledged to the source and delivered to sinks only once synced, so nothing is at risk; a "
                    + "change waits at most the interval); batch: fsync every append before it returns (one fsync per "
                    + "source transaction while changes trickle)",
            "batch", "interval").withDefault("interval");
    public static final Setting<Integer> FSYNC_INTERVAL_MS = Setting.integer("fsync_interval_ms",
            "with fsync: interval, the longest time a change waits for its fsync while changes keep coming (after a "
                    + "quiet spell an append is fsync'd at once); default a tenth of the shortest commit_interval_ms of "
                    + "the pipeline's sinks, from " + Interval.SHORTEST_MS + " to " + Interval.LONGEST_MS + " ms (100 "
                    + "beside jsonl's default 1000, 10 beside kafka's 100, 2 beside a sink set to commit every 10 ms "
                    + "for latency): a change waits for the sink's commit "
                    + "anyway, and each fsync costs the disk the source writes to", 1, 60_000);
    public static final Setting<Integer> SEGMENT_MB = Setting.integer("segment_mb",
            "size of one segment file; retention deletes whole segments", 1, 1024).withDefault(64);
    public static final Setting<Integer> MAX_MB = Setting.integer("max_mb",
            "0, or the Log size at which capture pauses until the slowest sink catches up (backpressure: the "
                    + "source then keeps its WAL instead)", 0, 16 * 1024 * 1024).withDefault(0);
    public static final Setting<Integer> RETAIN_DELIVERED_HOURS = Setting.integer("retain_delivered_hours",
            "keep segments every sink has taken for this long, so a sink added later can replay them", 0, 24 * 3650)
            .withDefault(0);

    /** Every key of the section, for validation and the reference docs. */
    public static final List<Setting<?>> ALL = List.of(FSYNC, FSYNC_INTERVAL_MS, SEGMENT_MB, MAX_MB, RETAIN_DELIVERED_HOURS);

    public static final LogSettings DEFAULT = new LogSettings(new FileLog.Options(FileLog.Options.DEFAULT.segmentBytes(),
            Interval.WITHOUT_SINKS_MS), 0, 0);

    /** The default of {@code fsync_interval_ms}. */
    public static final class Interval {
        /** The default's least: the interval beside sinks that commit more often than every 30 ms (set for latency). */
        public static final int SHORTEST_MS = 2;
        /** The default's most. */
        public static final int LONGEST_MS = 100;
        /** The default where no sink's commit interval is known. */
        public static final int WITHOUT_SINKS_MS = 10;

        private Interval() {
        }

        /**
         * The default beside sinks whose shortest {@code commit_interval_ms} is {@code commitMillis}: a
         * tenth of it, from {@link #SHORTEST_MS} to {@link #LONGEST_MS}. Measured beside pgbench
         * (docs/streaming-benchmarks.md): at 10 ms the Log fsynced about 90 times a second, and
         * capture took twice the CPU per change of 200 ms; so the sinks' defaults (100 ms and more)
         * get 10 ms and more. A sink set for latency (a commit every 10 ms) gets 2 ms: a change would
         * otherwise wait up to 10 ms for the Log's fsync and then up to 10 ms for the sink's commit.
         */
        public static long beside(long commitMillis) {
            return Math.max(SHORTEST_MS, Math.min(LONGEST_MS, commitMillis / 10));
        }
    }

    /** What the pipeline takes from a Log of another type than file: no cap, no retention of its own. */
    public static final LogSettings OTHER_TYPE = new LogSettings(DEFAULT.options(), 0, 0);

    /**
     * Reads the section; null means the pipeline file has none. A section of another {@code type:}
     * than file gives {@link #OTHER_TYPE}: its keys are its {@link LogFactory}'s to check.
     */
    public static LogSettings read(ComponentConfig c) throws FerryException {
        return read(c, Interval.WITHOUT_SINKS_MS);
    }

    /** {@link #read(ComponentConfig)}, with {@code fsync_interval_ms} {@code defaultIntervalMillis} unless set. */
    public static LogSettings read(ComponentConfig c, long defaultIntervalMillis) throws FerryException {
        if (c == null) {
            return new LogSettings(new FileLog.Options(DEFAULT.options().segmentBytes(), defaultIntervalMillis), 0, 0);
        }
        if (c.has("type") && !c.type().equals(FileLogFactory.TYPE)) {
            return OTHER_TYPE;
        }
        c.rejectUnknownKeys(ALL);
        long interval = c.get(FSYNC).equals("interval")
                ? c.find(FSYNC_INTERVAL_MS).map(Integer::longValue).orElse(defaultIntervalMillis) : 0;
        int maxMb = c.get(MAX_MB);
        if (maxMb > 0 && maxMb < 2 * c.get(SEGMENT_MB)) {
            // retention frees whole segments and never the one being written: a smaller cap could never clear
            throw FerryException.config(c.where("max_mb") + " is " + maxMb + " MB, less than two segments ("
                    + c.get(SEGMENT_MB) + " MB each): the Log could never get below it. Raise max_mb to at least "
                    + 2 * c.get(SEGMENT_MB) + " or lower segment_mb.");
        }
        return new LogSettings(new FileLog.Options(c.get(SEGMENT_MB) * 1024L * 1024, interval),
                c.get(MAX_MB) * 1024L * 1024, c.get(RETAIN_DELIVERED_HOURS) * 3_600_000L);
    }
}
