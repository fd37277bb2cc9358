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
}
