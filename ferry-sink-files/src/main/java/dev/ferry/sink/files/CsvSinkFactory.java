package dev.ferry.sink.files;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkFactory;
import dev.ferry.source.SourceInfo;
import java.util.List;
import java.util.Locale;

/** {@code type: csv}: RFC 4180 history files, one folder per table, partitioned by commit date. */
public final class CsvSinkFactory implements SinkFactory {
    static final Setting<String> PATH = Setting.string("path",
            "the output folder; relative paths start at the pipeline file's folder", "lake/").required();
    /** Shared with the Parquet sink, which partitions the same way. */
    public static final Setting<String> PARTITION = Setting.oneOf("partition",
            "how each table's files are split by the UTC commit time of their changes: day (folders _ferry_date=YYYY-MM-DD) "
                    + "or hour (_ferry_date=YYYY-MM-DD/_ferry_hour=HH)", "day", "hour").withDefault("day");

    @Override
    public String type() {
        return "csv";
    }

    @Override
    public List<Setting<?>> settings() {
        return List.of(PATH, PARTITION);
    }

    /**
     * Each commit is a new file per table and partition; readers pay per file, so while changes keep
     * coming, one commit every 10 s keeps files fewer and larger (up to 8,192 changes a batch).
     */
    @Override
    public int defaultCommitIntervalMillis() {
        return 10_000;
    }

    @Override
    public Sink create(String pipelineName, ComponentConfig config, SourceInfo source) throws FerryException {
        return new PartitionedFileSink(pipelineName, config.resolve(config.get(PATH)), partitioning(config), new CsvFormat());
    }

    /** The {@code partition:} setting of a sink's section. */
    public static PartitionedFileSink.Partitioning partitioning(ComponentConfig config) throws FerryException {
        return PartitionedFileSink.Partitioning.valueOf(config.get(PARTITION).toUpperCase(Locale.ROOT));
    }
}
