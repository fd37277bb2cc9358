package dev.ferry.sink.parquet;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkFactory;
import dev.ferry.sink.files.CsvSinkFactory;
import dev.ferry.sink.files.PartitionedFileSink;
import dev.ferry.source.SourceInfo;
import java.util.List;

/** {@code type: parquet}: Parquet history files, one folder per table, partitioned by commit date. */
public final class ParquetSinkFactory implements SinkFactory {
    static final Setting<String> PATH = Setting.string("path",
            "the output folder; relative paths start at the pipeline file's folder", "lake/").required();
    static final Setting<String> COMPRESSION = Setting.oneOf("compression",
            "the Parquet compression codec: zstd (smaller files), snappy (faster to read on old readers), gzip, "
                    + "or uncompressed", "zstd", "snappy", "gzip", "uncompressed").withDefault("zstd");
    static final Setting<Integer> ROW_GROUP_ROWS = Setting.integer("row_group_rows",
            "the most rows in one Parquet row group; a file holds the changes of one write to a table and partition, at "
                    + "most batch_events (8,192 by default under ferry run)",
            1_024, 10_000_000).withDefault(122_880);
    static final Setting<Integer> MEMORY_LIMIT_MB = Setting.integer("memory_limit_mb",
            "the most memory the in-memory DuckDB that writes the files (and compacts mirrors) may use, outside the Java "
                    + "heap; beyond it a compaction spills to _ferry/duckdb.tmp in the output folder",
            64, 1_048_576).withDefault(256);

    static final Setting<Boolean> MIRROR = Setting.bool("mirror",
            "also keep a mirror of each table with a primary key: one file, _ferry_mirror/<schema.table>/<offset>.parquet, "
                    + "holding each key's newest row as of that Log offset, compacted from the previous one and the new history "
                    + "files").withDefault(false);
    static final Setting<Integer> MIRROR_INTERVAL_MS = Setting.integer("mirror_interval_ms",
            "with mirror: true, the shortest time between two compactions of a table's mirror (each reads the previous "
                    + "mirror and writes a new one, so it costs the table's size); 0 compacts at every commit",
            0, 86_400_000).withDefault(600_000);

    @Override
    public String type() {
        return "parquet";
    }

    @Override
    public List<Setting<?>> settings() {
        return List.of(PATH, CsvSinkFactory.PARTITION, COMPRESSION, ROW_GROUP_ROWS, MEMORY_LIMIT_MB, MIRROR, MIRROR_INTERVAL_MS);
    }

    /**
     * Each commit is a new file per table and partition, and a columnar file pays off with rows: while
     * changes keep coming, one commit every 10 s.
     */
    @Override
    public int defaultCommitIntervalMillis() {
        return 10_000;
    }

    @Override
    public Sink create(String pipelineName, ComponentConfig config, SourceInfo source) throws FerryException {
        java.nio.file.Path root = config.resolve(config.get(PATH));
        ParquetFormat format = new ParquetFormat(config.get(COMPRESSION), config.get(ROW_GROUP_ROWS), config.get(MEMORY_LIMIT_MB),
                root.resolve("_ferry").resolve("duckdb.tmp"));
        return new PartitionedFileSink(pipelineName, root, CsvSinkFactory.partitioning(config),
                format, config.get(MIRROR) ? format : null, config.get(MIRROR_INTERVAL_MS));
    }
}
