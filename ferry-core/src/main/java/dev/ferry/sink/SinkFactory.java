package dev.ferry.sink;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.source.SourceInfo;
import java.util.List;

/**
 * Creates sinks of one {@code type:}. Found with {@link java.util.ServiceLoader}; stateless.
 */
public interface SinkFactory {
    /** The pipeline file's sink {@code type:} value this factory answers to. */
    String type();

    /** Every key this sink type accepts. */
    List<Setting<?>> settings();

    /**
     * The default of {@code commit_interval_ms} for this type: the shortest time between two commits
     * while changes keep coming, which weighs what one commit costs the target against latency.
     */
    default int defaultCommitIntervalMillis() {
        return 10;
    }

    /**
     * Whether the sink keeps the rows of a window run ({@code ferry run --once --window}, a schedule's
     * {@code window: day}) in a partition of their own, which the window's truncate replaces (see
     * {@link dev.ferry.source.Position#partition()}). A sink that does not would take that truncate for
     * the whole table's, so a window run is refused unless every sink of the pipeline does.
     */
    default boolean keepsWindowPartitions() {
        return false;
    }

    /**
     * Builds a sink from its configuration section; configuration mistakes surface here.
     *
     * @param source what the source says about itself, for envelopes
     */
    Sink create(String pipelineName, ComponentConfig config, SourceInfo source) throws FerryException;

    /**
     * A sink for one partition of a Log that sink workers share ({@code ferry run --role sinks}, and
     * every Log of several partitions): it commits that partition's offset atomically with its data,
     * apart from the other partitions' offsets, and a worker that lost the partition but still writes
     * (a long pause) must not corrupt the target. The sink of a Log of one partition keeps the offset
     * of the sink as {@link #create} makes it, so that such a Log moves between {@code ferry run} and
     * sink workers without starting over. The default refuses (CONFIG): the sink keeps one offset.
     *
     * @param partitions how many partitions the Log has
     */
    default Sink createForPartition(String pipelineName, ComponentConfig config, SourceInfo source, int partition,
                                    int partitions) throws FerryException {
        throw FerryException.config(config.where("type") + ": the " + type() + " sink cannot yet deliver one partition "
                + "of a shared Log (ferry run --role sinks, or log.partitions above 1): it keeps one committed offset, "
                + "not one per partition. Deliver to a postgres or kafka sink from sink workers, or run this sink with ferry run "
                + "without --role on a Log of one partition.");
    }
}
