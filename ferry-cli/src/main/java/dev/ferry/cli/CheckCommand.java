package dev.ferry.cli;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.PipelineConfig;
import dev.ferry.pipeline.PipelineAssembly;
import dev.ferry.sink.Sink;
import dev.ferry.source.Check;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ferry check -c FILE}: every prerequisite of source and sinks, with how to fix each. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Check the prerequisites of the source and sinks and say how to fix each problem. "
                + "Changes nothing. Exit 0 when all is well, 2 when something must be fixed.")
final class CheckCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "the pipeline file")
    Path config;

    @Override
    public Integer call() throws Exception {
        PipelineConfig pc = ConfigLoader.load(config);
        AdminServer.validate(pc.admin());
        try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
            List<Check> checks = new ArrayList<>(assembly.source().check());
            for (int i = 0; i < assembly.sinks().size(); i++) {
                Sink sink = assembly.sinks().get(i);
                for (Check c : sink.check()) {
                    checks.add(new Check("sink " + assembly.sinkNames().get(i) + ": " + c.subject(), c.status(),
                            c.detail(), c.fix()));
                }
            }
            PrintStream out = System.out;
            int problems = 0;
            for (Check c : checks) {
                out.printf("%-8s %s: %s%n", c.status(), c.subject(), c.detail());
                if (!c.fix().isEmpty()) {
                    out.printf("         fix: %s%n", c.fix());
                }
                if (c.status() == Check.Status.PROBLEM) {
                    problems++;
                }
            }
            out.println(problems == 0 ? "All prerequisites are met." : problems + " problem(s) to fix.");
            return problems == 0 ? 0 : 2;
        }
    }
}
