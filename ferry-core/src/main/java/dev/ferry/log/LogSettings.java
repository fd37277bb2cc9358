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
            "with fsync: interval, the longest time between fsyncs", 1, 60_000).withDefault(10);
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
            10), 0, 0);

    /** What the pipeline takes from a Log of another type than file: no cap, no retention of its own. */
    public static final LogSettings OTHER_TYPE = new LogSettings(DEFAULT.options(), 0, 0);

    /**
     * Reads the section; null means the pipeline file has none. A section of another {@code type:}
     * than file gives {@link #OTHER_TYPE}: its keys are its {@link LogFactory}'s to check.
     */
    public static LogSettings read(ComponentConfig c) throws FerryException {
        if (c == null) {
            return DEFAULT;
        }
        if (c.has("type") && !c.type().equals(FileLogFactory.TYPE)) {
            return OTHER_TYPE;
        }
        c.rejectUnknownKeys(ALL);
        long interval = c.get(FSYNC).equals("interval") ? c.get(FSYNC_INTERVAL_MS) : 0;
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
