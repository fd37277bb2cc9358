package dev.ferry.bench;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.log.Offset;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkFactory;
import dev.ferry.source.Check;
import dev.ferry.source.SourceInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code type: discard}, only in the benchmarks' jar: the {@link NullSink}, so that a pipeline file
 * can name it like any other sink. Its rate is the capture rate (source, conversion, the durable Log)
 * that {@link SinkBench} measures every other sink against. Its committed offset is kept in the file
 * {@code path} (written, not fsync'd, per batch), so that a second run resumes after the first.
 */
public final class NullSinkFactory implements SinkFactory {
    @Override
    public String type() {
        return "discard";
    }

    static final Setting<String> PATH = Setting.string("path", "the file that keeps the committed offset",
            "discard.offset").required();

    @Override
    public List<Setting<?>> settings() {
        return List.of(PATH);
    }

    /** Commits as soon as a batch is deliverable: nothing to amortise. */
    @Override
    public int defaultCommitIntervalMillis() {
        return 0;
    }

    @Override
    public Sink create(String pipelineName, ComponentConfig config, SourceInfo source) throws FerryException {
        return new Discard(config.resolve(config.get(PATH)));
    }

    /** A {@link NullSink} whose committed offset survives the process in a file. */
    private static final class Discard implements Sink {
        private final Path file;
        private final NullSink sink = new NullSink();

        Discard(Path file) {
            this.file = file;
        }

        @Override
        public List<Check> check() {
            return List.of();
        }

        @Override
        public Optional<Offset> committed() throws FerryException {
            try {
                return Files.exists(file) ? Optional.of(Offset.of(Long.parseLong(Files.readString(file).trim())))
                        : Optional.empty();
            } catch (IOException e) {
                throw new FerryException(ErrorKind.INTERNAL, "cannot read " + file + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void write(List<ChangeEvent> events, Offset last) throws FerryException {
            sink.write(events, last);
            try {
                Files.writeString(file, Long.toString(last.value()));
            } catch (IOException e) {
                throw new FerryException(ErrorKind.INTERNAL, "cannot write " + file + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
        }
    }
}
