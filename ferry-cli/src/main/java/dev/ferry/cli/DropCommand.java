package dev.ferry.cli;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.PipelineConfig;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.pipeline.PipelineAssembly;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry drop -c FILE [--yes]}: retires a pipeline by removing what it created — on the source
 * (PostgreSQL: the slot, which otherwise retains WAL, and the publication when Ferry created it) and
 * the state folder with the Log. Holds the state folder's lock throughout, so a pipeline running here
 * is refused, not pulled out from under; the source refuses when the pipeline runs elsewhere. The
 * sink output is never touched.
 */
@Command(name = "drop", mixinStandardHelpOptions = true,
        description = {"Retire a pipeline: drop its replication slot (which otherwise keeps WAL on the server), "
                + "its publication when Ferry created it, and its state folder with the Log. Says what it will drop "
                + "and asks you to type the pipeline name, unless --yes is given. Refuses while the pipeline runs. "
                + "Dropping again is harmless.",
                "The sink output stays; delete it yourself to start over."})
final class DropCommand implements Callable<Integer> {
    static final String SINK_OUTPUT_STAYS = "The sink output stays; delete it yourself to start over.";

    @Option(names = {"-c", "--config"}, required = true, description = "the pipeline file")
    Path config;

    @Option(names = "--yes", description = "drop without asking (for scripts)")
    boolean yes;

    @Override
    public Integer call() throws Exception {
        PipelineConfig pc = ConfigLoader.load(config);
        PrintStream out = System.out;
        Path state = pc.state();
        try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
            boolean hasState = Files.isDirectory(state);
            if (hasState && !assembly.tryLockState()) {
                throw new FerryException(ErrorKind.PREREQUISITE, "Pipeline " + pc.name() + " is running in another "
                        + "Ferry process (its state folder " + state + " is locked). Stop it first (SIGTERM or Ctrl-C), "
                        + "then run ferry drop again. Nothing was dropped.");
            }
            List<String> plan = new ArrayList<>(assembly.source().dropPlan());
            if (hasState) {
                int deadLetters = assembly.deadLetterLog().counts().values().stream().mapToInt(Integer::intValue).sum();
                plan.add("state folder " + state + " (the Log" + (deadLetters == 0 ? ")"
                        : String.format(" and the dead-letter log with %,d events: ferry dlq list shows them)", deadLetters)));
            }
            if (plan.isEmpty()) {
                out.println("Nothing to drop for pipeline " + pc.name() + ": the source holds nothing for it, and there "
                        + "is no state folder (" + state + ").");
                out.println(SINK_OUTPUT_STAYS);
                return 0;
            }
            out.println("ferry drop removes, for pipeline " + pc.name() + ":");
            plan.forEach(line -> out.println("  " + line));
            out.println(SINK_OUTPUT_STAYS);
            if (!yes) {
                confirm(pc.name(), out);
            }
            for (String line : assembly.source().drop()) {
                out.println("Dropped " + line);
            }
            if (hasState) {
                List<Path> kept = assembly.deleteState();
                out.println(kept.isEmpty() ? "Deleted state folder " + state
                        : "Deleted the Log in " + state + "; the folder stays, as it holds files Ferry did not put there: "
                        + kept);
            }
            return 0;
        }
    }

    /**
     * Reads one line from standard input, which must be the pipeline name. A pipe works as well as a
     * terminal; no input at all (stdin closed, or /dev/null under cron) refuses instead of dropping.
     */
    private static void confirm(String name, PrintStream out) throws Exception {
        out.print("Type the pipeline name to confirm: ");
        out.flush();
        String answer = new BufferedReader(new InputStreamReader(System.in)).readLine();
        if (answer == null) {
            out.println();
            throw FerryException.config("ferry drop needs a confirmation, but there is no input to read it from "
                    + "(standard input is not a terminal, or is closed). Pass --yes to drop without asking. "
                    + "Nothing was dropped.");
        }
        if (!answer.trim().equals(name)) {
            throw FerryException.config("You typed \"" + answer.trim() + "\", not the pipeline name " + name
                    + ". Nothing was dropped.");
        }
    }
}
