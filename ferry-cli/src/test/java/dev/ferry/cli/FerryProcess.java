package dev.ferry.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The ferry command as a child JVM, from the shaded jar that {@code mvn package} built. */
final class FerryProcess {
    private final Process process;
    private final Path stdout;
    private final Path stderr;

    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private static final Path JAR = Path.of(System.getProperty("ferry.jar", "target/ferry.jar")).toAbsolutePath();
    /** The options that map {@link #classArchive}'s archive, once it is made; none if it could not be. */
    private static List<String> archiveOptions;

    private FerryProcess(Process process, Path stdout, Path stderr) {
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    static FerryProcess start(Path workDir, Map<String, String> env, String... args) throws IOException {
        return startWithHeap(workDir, env, "256m", args);
    }

    /**
     * Like {@link #start}, with the child's heap capped at {@code maxHeap} ({@code -Xmx}, e.g. "192m"), to
     * show memory stays bounded; an OutOfMemoryError ends the child, which then exits non-zero.
     */
    static FerryProcess startWithHeap(Path workDir, Map<String, String> env, String maxHeap, String... args)
            throws IOException {
        List<String> command = new ArrayList<>(List.of(JAVA, "-Xmx" + maxHeap, "-XX:+ExitOnOutOfMemoryError",
                "-XX:TieredStopAtLevel=1"));
        command.addAll(classArchive());
        command.addAll(List.of("-jar", JAR.toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(workDir, "ferry-out", ".txt");
        Path err = Files.createTempFile(workDir, "ferry-err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(env);
        return new FerryProcess(pb.start(), out, err);
    }

    /**
     * The JVM options that map a class data sharing archive of the jar's startup classes (command line,
     * configuration, logging, the PostgreSQL driver), made once per jar beside it by a {@code ferry check}
     * of an unreachable server: the suite starts a few hundred ferry JVMs, and each then spends about
     * 0.3 s less CPU loading classes (1.41-1.80 s to 1.15-1.46 s for that check). A JVM that cannot use
     * the archive runs without it; {@code -Xlog:disable} keeps the JVM's own warnings out of the
     * output the tests read.
     */
    private static synchronized List<String> classArchive() {
        if (archiveOptions == null) {
            archiveOptions = List.of();
            try {
                // named by the jar's size and time: a rebuilt jar gets an archive of its own
                Path archive = JAR.resolveSibling("ferry-" + Files.size(JAR) + "-" + Files.getLastModifiedTime(JAR).toMillis()
                        + ".jsa");
                if (!Files.exists(archive)) {
                    Path work = Files.createTempDirectory(JAR.getParent(), "cds"); // beside it: the move below is atomic
                    Files.writeString(work.resolve("pipeline.yaml"), "name: cds\nsource:\n  type: postgres\n  port: 1\n"
                            + "  database: cds\n  user: cds\n  password: cds\nsink:\n  type: jsonl\n  path: out\n");
                    Path made = work.resolve("ferry.jsa"); // moved into place whole: two test JVMs may make one each
                    Process dump = new ProcessBuilder(JAVA, "-Xmx256m", "-XX:TieredStopAtLevel=1",
                            "-XX:ArchiveClassesAtExit=" + made, "-Xlog:disable", "-jar",
                            JAR.toString(), "check", "-c", "pipeline.yaml").directory(work.toFile())
                            .redirectErrorStream(true).redirectOutput(work.resolve("out.txt").toFile()).start();
                    if (dump.waitFor(60, TimeUnit.SECONDS) && Files.exists(made)) {
                        Files.move(made, archive, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    } else {
                        dump.destroyForcibly();
                    }
                }
                if (Files.exists(archive)) {
                    archiveOptions = List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:disable");
                }
            } catch (IOException e) {
                // without the archive: slower to start, nothing else
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return archiveOptions;
    }

    /**
     * Runs {@code ferry run -c pipeline.yaml} and kills it with SIGKILL after 1.2 to 1.6 s (inside an
     * initial snapshot of some 30,000 rows), then again and again, each run living 0.7 to 3 s, until
     * {@code enough} holds and at least {@code minKills} kills are done. Once the kills are done, the
     * run then living goes on until {@code enough} holds, and is killed then: a JVM started every two
     * seconds only took CPU from the workload it waited for (CrashRecoveryIT made 67 kills where it
     * asks for 25, on a loaded machine). Fails if a run dies on its own; {@code afterEach} runs after
     * each kill and while the last run waits (to check the workload beside it).
     *
     * @return the number of kills
     */
    static int killRepeatedly(Path dir, Map<String, String> env, java.util.Random random, int minKills,
                              java.util.function.BooleanSupplier enough, Runnable afterEach) throws Exception {
        FerryProcess first = start(dir, env, "run", "-c", "pipeline.yaml");
        Thread.sleep(1200 + random.nextInt(400));
        first.kill();
        int kills = 1;
        while (!enough.getAsBoolean() || kills < minKills) {
            FerryProcess p = start(dir, env, "run", "-c", "pipeline.yaml");
            Thread.sleep(700 + random.nextInt(2300));
            while (kills >= minKills && !enough.getAsBoolean() && p.isAlive()) {
                afterEach.run();
                Thread.sleep(100);
            }
            if (!p.isAlive()) {
                throw new AssertionError("ferry died on its own: " + p.stderr());
            }
            p.kill();
            kills++;
            afterEach.run();
        }
        return kills;
    }

    /** Writes {@code text} to the child's standard input, then closes it; with "" it only closes it. */
    FerryProcess input(String text) throws IOException {
        try (OutputStream in = process.getOutputStream()) {
            in.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return this;
    }

    /** Runs to the end (at most two minutes) and returns the exit code. */
    int waitFor() throws InterruptedException {
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("ferry did not finish within two minutes; stderr:\n" + stderr());
        }
        requireNoSecret();
        return process.exitValue();
    }

    /**
     * The suite-wide canary: no password any test server or role was given (all of them random and
     * unique, {@link dev.ferry.testkit.TestingPostgres#secrets()}) may appear in what ferry printed.
     */
    private void requireNoSecret() {
        String printed = stdout() + stderr();
        for (String secret : dev.ferry.testkit.TestingPostgres.secrets()) {
            if (printed.contains(secret)) {
                throw new AssertionError("ferry printed a password (a test server's or role's):\n" + printed);
            }
        }
    }

    /** SIGKILL: no shutdown hook, no drain. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM: the pipeline drains and commits before the JVM exits. */
    void terminate() {
        process.destroy();
    }

    /**
     * Waits until the process's log holds one of {@code texts}, it exits, or {@code timeout} passes;
     * says whether a text appeared. On a loaded machine a JVM takes seconds to start, so tests wait for
     * a state, never a fixed time.
     */
    boolean awaitLog(Duration timeout, String... texts) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            String log = stderr();
            for (String text : texts) {
                if (log.contains(text)) {
                    return true;
                }
            }
            if (!process.isAlive()) {
                return false;
            }
            Thread.sleep(20);
        }
        return false;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String stdout() {
        return read(stdout);
    }

    String stderr() {
        return read(stderr);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}
