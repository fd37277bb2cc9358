package dev.ferry.cli;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.PipelineConfig;
import dev.ferry.event.TableId;
import dev.ferry.pipeline.PipelineAssembly;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry snapshot -c FILE --table T [--where SQL]}: asks the pipeline to read one table again,
 * in chunks between watermarks, while it goes on streaming. Leaves a request in the state folder;
 * the running pipeline takes it up within a second, a stopped one at its next run.
 */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        description = "Re-snapshot one table while the pipeline streams: its rows are read in short chunks by key, "
                + "consistently with the stream, and delivered as reads (op r). The running pipeline takes the "
                + "request up within a second; a stopped one at its next run. Progress shows in ferry status.")
final class SnapshotCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "the pipeline file")
    Path config;

    @Option(names = "--table", required = true, description = "the table, as schema.table")
    String table;

    @Option(names = "--where", description = "only the rows matching this SQL condition, e.g. \"created_at >= '2026-11-01'\"")
    String where;

    @Override
    public Integer call() throws Exception {
        PipelineConfig pc = ConfigLoader.load(config);
        try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
            System.out.println(assembly.source().requestSnapshot(TableId.parse(table, "public"), where));
        }
        return 0;
    }
}
