package dev.ferry.sink.duckdb;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkFactory;
import dev.ferry.source.SourceInfo;
import java.util.List;

/** {@code type: duckdb}: mirror tables (and optional history tables) in one DuckDB file. */
public final class DuckDbSinkFactory implements SinkFactory {
    static final Setting<String> PATH = Setting.string("path",
            "the DuckDB database file, created when missing; relative paths start at the pipeline file's folder. "
                    + "DuckDB lets one process write a file: give each pipeline its own", "warehouse.duckdb").required();
    static final Setting<Boolean> MIRROR = Setting.bool("mirror",
            "keep a mirror of each source table with a primary key: a table of the same name equal to the source, "
                    + "upserts and deletes applied by key").withDefault(true);
    static final Setting<Boolean> HISTORY = Setting.bool("history",
            "also append every change to a table named after the source table plus __history, with the Log offset, op, source position, commit time and "
                    + "transaction id; tables without a primary key always get one (and no mirror)").withDefault(false);
    static final Setting<Integer> MEMORY_LIMIT_MB = Setting.integer("memory_limit_mb",
            "the most memory DuckDB itself may use, outside the Java heap (its memory_limit); it spills to disk beyond",
            64, 1_048_576).withDefault(512);
    static final Setting<Integer> CHECKPOINT_MB = Setting.integer("checkpoint_mb",
            "DuckDB's write-ahead log grows to this size before DuckDB folds it into the database file (its "
                    + "checkpoint_threshold). A checkpoint writes the changed parts of the tables and their key indexes to the "
                    + "file, so a small value (DuckDB's own default is 16) costs throughput under a steady stream; a large one "
                    + "costs disk beside the file and a longer recovery after a crash",
            1, 65_536).withDefault(256);

    @Override
    public String type() {
        return "duckdb";
    }

    @Override
    public List<Setting<?>> settings() {
        return List.of(PATH, MIRROR, HISTORY, MEMORY_LIMIT_MB, CHECKPOINT_MB);
    }

    /**
     * A commit is a few statements per table plus a write-ahead-log fsync: cheap, but a stream that
     * committed every few milliseconds would spend its time there. 500 ms keeps the mirror close
     * behind the source while batches grow to thousands of changes under load.
     */
    @Override
    public int defaultCommitIntervalMillis() {
        return 500;
    }

    @Override
    public Sink create(String pipelineName, ComponentConfig config, SourceInfo source) throws FerryException {
        boolean mirror = config.get(MIRROR);
        boolean history = config.get(HISTORY);
        if (!mirror && !history) {
            throw FerryException.config(config.where("history") + " is false and mirror is false: the sink would write "
                    + "nothing of tables with a primary key. Set mirror: true, history: true, or both.");
        }
        return new DuckDbSink(pipelineName, config.resolve(config.get(PATH)), mirror, history, config.get(MEMORY_LIMIT_MB),
                config.get(CHECKPOINT_MB));
    }
}
