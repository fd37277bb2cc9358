package dev.ferry.cli;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.PipelineConfig;
import dev.ferry.error.FerryException;
import dev.ferry.event.TableId;
import dev.ferry.pipeline.PipelineAssembly;
import dev.ferry.source.SnapshotProgress;
import dev.ferry.source.SnapshotRequest;
import dev.ferry.source.Source;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry snapshot -c FILE --table T [--where SQL]}: asks the pipeline to read one table again,
 * in chunks between watermarks, while it goes on streaming. Leaves a request in the state folder;
 * the running pipeline takes it up within a second, a stopped one at its next run. With
 * {@code --cancel}, gives the table's snapshots up instead.
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

    @Option(names = {"-f", "--follow"}, description = "stay and show the progress until the snapshot is done: a "
            + "progress bar on a terminal, a line every 10 s otherwise; exit 0 when done, 1 when it stopped. Ctrl-C "
            + "stops following, not the snapshot.")
    boolean follow;

    @Option(names = "--cancel", description = "give up the table's snapshots instead: a stopped one (which fails "
            + "every batch run until it is read again or cancelled), one still reading, and requests not taken up yet. "
            + "Works for a table no longer captured, or gone.")
    boolean cancel;

    @Override
    public Integer call() throws Exception {
        checkOptions(cancel, where, follow);
        PipelineConfig pc = ConfigLoader.load(config);
        try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
            Source source = assembly.source();
            if (cancel) {
                System.out.println(source.cancelSnapshot(TableId.parse(table, "public")));
                return 0;
            }
            SnapshotRequest request = source.requestSnapshot(TableId.parse(table, "public"), where);
            System.out.println(request.message());
            if (!follow) {
                return 0;
            }
            return follow(source, request.id(), System.console() != null);
        }
    }

    /** --cancel takes neither --where (it gives up every snapshot of the table) nor --follow. */
    static void checkOptions(boolean cancel, String where, boolean follow) throws FerryException {
        if (cancel && (where != null || follow)) {
            throw FerryException.config("ferry snapshot --cancel gives up every snapshot of the table: it takes "
                    + "neither --where nor --follow.");
        }
    }

    /** Shows the snapshot's progress until it is done (0) or stopped (1). */
    private static int follow(Source source, String id, boolean terminal) throws Exception {
        long start = System.nanoTime();
        long startRows = -1;
        long nextLine = 0;
        while (true) {
            SnapshotProgress p = source.snapshotProgress(id).orElseThrow(
                    () -> new IllegalStateException("this source does not report snapshot progress"));
            long now = System.nanoTime();
            if (p.state() == SnapshotProgress.State.RUNNING && startRows < 0) {
                startRows = p.rows();
                start = now;
            }
            double seconds = (now - start) / 1e9;
            long rate = startRows >= 0 && seconds >= 1 ? (long) ((p.rows() - startRows) / seconds) : -1;
            String line = describe(p, rate);
            if (p.state() == SnapshotProgress.State.DONE || p.state() == SnapshotProgress.State.STOPPED) {
                System.out.print(terminal ? "\r\033[K" : "");
                System.out.println(line);
                return p.state() == SnapshotProgress.State.DONE ? 0 : 1;
            }
            if (terminal) {
                System.out.print("\r\033[K" + line);
                System.out.flush();
            } else if (now >= nextLine) {
                System.out.println(line);
                nextLine = now + 10_000_000_000L;
            }
            Thread.sleep(500);
        }
    }

    /** One line: a bar and the percentage when the size is known, rows and chunks, rate and time left. */
    static String describe(SnapshotProgress p, long rowsPerSecond) {
        return switch (p.state()) {
            case REQUESTED -> "Waiting for the pipeline to take the snapshot of " + p.table() + " up (is it running?)";
            case DONE -> "Snapshot done.";
            case STOPPED -> String.format(Locale.ROOT, "Snapshot of %s STOPPED after %,d rows: %s", p.table(), p.rows(),
                    p.failure());
            case RUNNING -> {
                StringBuilder b = new StringBuilder();
                if (p.estimatedRows() > 0) {
                    int percent = (int) Math.min(100, p.rows() * 100 / p.estimatedRows());
                    int filled = percent * 30 / 100;
                    b.append('[').append("#".repeat(filled)).append(".".repeat(30 - filled)).append("] ")
                            .append(percent).append("% ");
                    b.append(String.format(Locale.ROOT, "%,d of ~%,d rows", p.rows(), p.estimatedRows()));
                } else {
                    b.append(String.format(Locale.ROOT, "%,d rows", p.rows()));
                }
                b.append(String.format(Locale.ROOT, ", %,d chunks", p.chunks()));
                if (rowsPerSecond > 0) {
                    b.append(String.format(Locale.ROOT, ", %,d rows/s", rowsPerSecond));
                    if (p.estimatedRows() > p.rows()) {
                        long left = (p.estimatedRows() - p.rows()) / rowsPerSecond;
                        b.append(String.format(Locale.ROOT, ", about %d:%02d left", left / 60, left % 60));
                    }
                }
                yield b.toString();
            }
        };
    }
}
