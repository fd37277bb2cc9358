package dev.ferry.sink.postgres;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkFactory;
import dev.ferry.source.SourceInfo;
import java.util.List;

/** {@code type: postgres}: a PostgreSQL warehouse with mirror and history tables. */
public final class PostgresSinkFactory implements SinkFactory {
    @Override
    public String type() {
        return "postgres";
    }

    @Override
    public List<Setting<?>> settings() {
        return WarehouseSettings.ALL;
    }

    /**
     * Each commit costs the warehouse a few statements per table (COPY, upsert, delete, the offset) and
     * a WAL flush, whatever its size, while the set-based upsert gets cheaper per row as batches grow:
     * one commit a second keeps the mirror about a second behind at a small fraction of the cost.
     */
    @Override
    public int defaultCommitIntervalMillis() {
        return 1000;
    }

    @Override
    public Sink create(String pipelineName, ComponentConfig config, SourceInfo source) throws FerryException {
        return new PostgresSink(pipelineName, WarehouseSettings.read(pipelineName, config));
    }

    /**
     * The sink of one partition of a shared Log. Of a Log of one partition, the sink {@link #create}
     * makes. Of several: its offset row in {@code _ferry_offsets} is {@code <pipeline>/<partition>}, and
     * its history rows carry the partition in {@code _ferry_partition} (the history's key is the
     * partition and the Log offset). A worker that lost the partition in a pause and still writes cannot
     * corrupt the warehouse: every write locks the offset row and skips what is committed, so the events
     * of a partition, the same for every reader, are applied once and in order whoever writes them.
     * A truncate empties the rows of the partition's keys only ({@link TargetTable#truncateMirror}), so
     * history must be on.
     */
    @Override
    public Sink createForPartition(String pipelineName, ComponentConfig config, SourceInfo source, int partition,
                                   int partitions) throws FerryException {
        if (partitions == 1) {
            return create(pipelineName, config, source);
        }
        WarehouseSettings settings = WarehouseSettings.read(pipelineName, config);
        if (!settings.history()) {
            throw FerryException.config(config.where(WarehouseSettings.HISTORY.key()) + " is false, but the postgres sink "
                    + "of a Log of several partitions needs its history: a truncate, which every partition carries, "
                    + "empties the mirror of the keys its partition's history holds, not the whole table (another "
                    + "partition's worker may be ahead). Set history: true, or use a Log of one partition.");
        }
        return new PostgresSink(pipelineName + "/" + partition, settings.forPartition(partition));
    }
}
