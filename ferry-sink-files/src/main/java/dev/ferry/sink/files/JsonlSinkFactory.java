package dev.ferry.sink.files;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.event.EnvelopeWriter;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkFactory;
import dev.ferry.source.SourceInfo;
import java.util.List;

/** {@code type: jsonl}: change events as JSON lines, one folder per table. */
public final class JsonlSinkFactory implements SinkFactory {
    static final Setting<String> PATH = Setting.string("path",
            "the output folder; relative paths start at the pipeline file's folder", "out/").required();

    @Override
    public boolean keepsWindowPartitions() {
        return true;
    }

    @Override
    public String type() {
        return "jsonl";
    }

    @Override
    public List<Setting<?>> settings() {
        return List.of(PATH);
    }

    /** Each commit is a new file per table: while a stream trickles, one a second is plenty. */
    @Override
    public int defaultCommitIntervalMillis() {
        return 1000;
    }

    @Override
    public Sink create(String pipelineName, ComponentConfig config, SourceInfo source) throws FerryException {
        return new JsonlSink(pipelineName, config.resolve(config.get(PATH)), new EnvelopeWriter(source));
    }
}
