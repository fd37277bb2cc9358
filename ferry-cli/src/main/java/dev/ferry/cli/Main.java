package dev.ferry.cli;

import dev.ferry.error.FerryException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ferry} command. Exit codes: 0 success, 1 runtime failure, 2 usage or configuration
 * error (see ARCHITECTURE.md).
 */
@Command(name = "ferry", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Moves data from operational databases to where it is analysed, without hurting the source.",
        subcommands = {RunCommand.class, CheckCommand.class, StatusCommand.class, SnapshotCommand.class, DropCommand.class,
                DemoCommand.class, DlqCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit code. */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof FerryException fe) {
                cmd.getErr().println("ferry: " + fe.getMessage());
                return fe.kind().exitCode();
            }
            cmd.getErr().println("ferry: unexpected failure: " + e);
            e.printStackTrace(cmd.getErr());
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
        throw new CommandLine.ParameterException(spec.commandLine(), "Name a command, such as run, check or demo.");
    }

    /** Reads the version Maven wrote into the jar. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws Exception {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {"ferry " + p.getProperty("version", "unknown")};
        }
    }
}
