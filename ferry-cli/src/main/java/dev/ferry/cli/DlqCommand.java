package dev.ferry.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.config.ConfigLoader;
import dev.ferry.config.PipelineConfig;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.pipeline.DeadLetterLog;
import dev.ferry.pipeline.PipelineAssembly;
import dev.ferry.sink.Sink;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ferry dlq list|show|replay|purge}: the dead-letter log of a pipeline, where events its sinks
 * refused as records they can never hold wait with their reason ({@code record_errors: dlq}).
 * {@code list} and {@code show} only read, so they work beside a running pipeline; {@code replay} and
 * {@code purge} take the state folder's lock, so the pipeline must be stopped.
 */
@Command(name = "dlq", mixinStandardHelpOptions = true,
        description = "The dead-letter log: events a sink refused as records it can never hold, with the reason.",
        subcommands = {DlqCommand.List.class, DlqCommand.Show.class, DlqCommand.Replay.class, DlqCommand.Purge.class})
final class DlqCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "ferry dlq needs a command: list, show, replay or purge (ferry dlq --help).");
    }

    /** Which entries a command acts on: the ones named, or all. */
    static final class Selection {
        @Option(names = "--id", split = ",", description = "an entry id as ferry dlq list shows it (sink/offset); repeatable")
        java.util.List<String> ids;

        @Option(names = "--all", description = "every entry")
        boolean all;

        java.util.List<DeadLetterLog.Entry> resolve(DeadLetterLog dlq) throws FerryException {
            if (all) {
                return dlq.list();
            }
            java.util.List<DeadLetterLog.Entry> chosen = new ArrayList<>();
            for (String id : ids) {
                chosen.add(dlq.find(id).orElseThrow(() -> FerryException.config("The dead-letter log has no entry "
                        + id + ". ferry dlq list shows the ids.")));
            }
            return chosen;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "One line per dead-lettered event: "
            + "id, table, operation, position, time, reason.")
    static final class List implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "the pipeline file")
        Path config;

        @Override
        public Integer call() throws Exception {
            PipelineConfig pc = ConfigLoader.load(config);
            PrintStream out = System.out;
            try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
                java.util.List<DeadLetterLog.Entry> entries = assembly.deadLetterLog().list();
                if (entries.isEmpty()) {
                    out.println("The dead-letter log of pipeline " + pc.name() + " is empty.");
                    return 0;
                }
                out.printf("%-20s %-30s %-2s %-24s %-24s %s%n", "ID", "TABLE", "OP", "POSITION", "FAILED AT", "REASON");
                for (DeadLetterLog.Entry e : entries) {
                    out.printf("%-20s %-30s %-2s %-24s %-24s %s%n", e.id(), e.table(), e.op(), e.position(), e.failedAt(),
                            oneLine(e.reason()));
                }
                out.println(entries.size() + " event(s). ferry dlq show ID prints one in full; ferry dlq replay --id ID "
                        + "(or --all) delivers them again once the cause is fixed.");
                return 0;
            }
        }

        private static String oneLine(String reason) {
            String line = reason.replace('\n', ' ');
            return line.length() > 160 ? line.substring(0, 157) + "..." : line;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "One dead-lettered event in full: "
            + "the event's envelope, the reason and where it was thrown.")
    static final class Show implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "the pipeline file")
        Path config;

        @Parameters(paramLabel = "ID", description = "the entry's id, as ferry dlq list shows it")
        String id;

        @Override
        public Integer call() throws Exception {
            PipelineConfig pc = ConfigLoader.load(config);
            PrintStream out = System.out;
            try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
                DeadLetterLog.Entry e = assembly.deadLetterLog().find(id).orElseThrow(() -> FerryException.config(
                        "The dead-letter log has no entry " + id + ". ferry dlq list shows the ids."));
                out.println("id:        " + e.id());
                out.println("sink:      " + e.sink());
                out.println("offset:    " + e.offset());
                out.println("table:     " + e.table());
                out.println("op:        " + e.op());
                out.println("position:  " + e.position());
                out.println("failed at: " + e.failedAt());
                out.println("reason:    " + e.reason());
                out.println("event:");
                // the dead-letter log's mapper: no depth limit, as for reading the entry
                out.println(DeadLetterLog.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(e.envelope()));
                out.println("thrown at:");
                out.print(e.stackTrace());
                return 0;
            }
        }
    }

    @Command(name = "replay", mixinStandardHelpOptions = true, description = {
            "Delivers dead-lettered events to their sink again, once the cause is fixed, and removes each one "
                    + "the sink takes. The pipeline must be stopped.",
            "The events are applied as they were captured: when later changes of the same row have been delivered "
                    + "since, re-snapshot the row instead (ferry snapshot --table T --where ...)."})
    static final class Replay implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "the pipeline file")
        Path config;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Selection selection;

        @Override
        public Integer call() throws Exception {
            PipelineConfig pc = ConfigLoader.load(config);
            PrintStream out = System.out;
            try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
                lock(assembly, pc, "replay");
                DeadLetterLog dlq = assembly.deadLetterLog();
                int replayed = 0;
                FerryException firstRefusal = null;
                for (DeadLetterLog.Entry e : selection.resolve(dlq)) {
                    // a sink worker's entry (<sink>.p<partition>) goes through that partition's sink
                    Sink sink = assembly.sinkNamed(e.sink()).orElseThrow(() -> FerryException.config("Entry " + e.id()
                            + " belongs to sink " + e.sink() + ", which the pipeline file no longer has (sinks: "
                            + String.join(", ", assembly.sinkNames()) + ", and in sink workers <sink>.p<partition>). Put "
                            + "the sink back to replay it, or drop it with ferry dlq purge --id " + e.id() + "."));
                    requireNoWorkerHolds(assembly, e);
                    // the settled offset (committed() fences a writer that is gone and waits out its open
                    // transaction): an offset still being committed past the entry must not read as before it,
                    // or the entry is removed and the event is neither delivered nor set aside
                    long committed = sink.committed().map(o -> o.value()).orElse(-1L);
                    if (e.offset() > committed) {
                        // a crash came between the entry and the sink's offset: the next run offers the
                        // event again (and sets it aside again if the sink still refuses it)
                        dlq.remove(e.id());
                        out.println("Removed " + e.id() + " without replaying it: the sink's committed offset ("
                                + committed + ") is not past it, so the next ferry run delivers it in order.");
                        continue;
                    }
                    try {
                        sink.replay(dlq.event(e), dev.ferry.log.Offset.of(e.offset()));
                    } catch (FerryException refused) {
                        if (refused.kind() != ErrorKind.DATA) {
                            throw refused;
                        }
                        out.println("Not replayed " + e.id() + ": the sink still refuses it: " + refused.getMessage());
                        firstRefusal = firstRefusal == null ? refused : firstRefusal;
                        continue;
                    }
                    dlq.remove(e.id());
                    replayed++;
                    out.println("Replayed " + e.id() + " (" + e.table() + ", op " + e.op() + ")");
                }
                out.println(replayed + " event(s) replayed and removed from the dead-letter log.");
                if (firstRefusal != null) {
                    throw new FerryException(ErrorKind.DATA, "Some events are still refused; they stay in the "
                            + "dead-letter log. Fix their cause and replay them again.", firstRefusal);
                }
                return 0;
            }
        }
    }

    @Command(name = "purge", mixinStandardHelpOptions = true, description = "Deletes dead-lettered events for good. "
            + "The pipeline must be stopped.")
    static final class Purge implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "the pipeline file")
        Path config;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Selection selection;

        @Override
        public Integer call() throws Exception {
            PipelineConfig pc = ConfigLoader.load(config);
            try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
                lock(assembly, pc, "purge");
                DeadLetterLog dlq = assembly.deadLetterLog();
                int purged = 0;
                for (DeadLetterLog.Entry e : selection.resolve(dlq)) {
                    purged += dlq.remove(e.id()) ? 1 : 0;
                }
                System.out.println(purged + " event(s) deleted from the dead-letter log.");
                return 0;
            }
        }
    }

    /**
     * Refuses an entry of a sink worker ({@code <sink>.p<partition>}) while a worker holds that
     * partition: workers take no lock of the state folder, and the worker may be about to commit past
     * the entry, so its replay would go out of order, or its removal ("the next run delivers it")
     * would lose it.
     */
    private static void requireNoWorkerHolds(PipelineAssembly assembly, DeadLetterLog.Entry e) throws FerryException {
        java.util.regex.Matcher m = WORKER_ENTRY.matcher(e.sink());
        if (assembly.sinkNames().contains(e.sink()) || !m.matches()
                || assembly.logType().equals(dev.ferry.log.FileLogFactory.TYPE)) {
            return;
        }
        int partition = Integer.parseInt(m.group(1));
        java.util.Set<Integer> held;
        try (dev.ferry.log.SharedLog shared = assembly.openSharedLog()) {
            held = shared.heldPartitions();
        }
        if (held.contains(partition)) {
            throw new FerryException(ErrorKind.PREREQUISITE, "Entry " + e.id() + " belongs to " + e.sink() + ", the sink "
                    + "of Log partition " + partition + ", which a running sink worker holds (ferry status shows the "
                    + "workers): it may be about to write past the entry. Stop the sink workers (ferry run --role sinks, "
                    + "or ferry run of this Log), or wait until none holds partition " + partition + ", then replay again."
                    + " This entry was left as it is.");
        }
    }

    private static final java.util.regex.Pattern WORKER_ENTRY = java.util.regex.Pattern.compile(".+\\.p(\\d{1,6})");

    private static void lock(PipelineAssembly assembly, PipelineConfig pc, String verb) throws FerryException {
        if (!assembly.tryLockState()) {
            throw new FerryException(ErrorKind.PREREQUISITE, "Pipeline " + pc.name() + " is running in another Ferry "
                    + "process (its state folder " + pc.state() + " is locked). Stop it first, then run ferry dlq " + verb
                    + " again. Nothing was changed.");
        }
    }
}
