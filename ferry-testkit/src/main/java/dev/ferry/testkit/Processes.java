package dev.ferry.testkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs PostgreSQL's command-line tools, as another user when the JVM is root. */
final class Processes {
    private static final Object LOCK = new Object();
    // "" once resolved to "not root": null means not looked up yet.
    private static String serverUser;

    private Processes() {}

    /**
     * The account to run the server as, or null to run it as ourselves. PostgreSQL refuses to run
     * as root, so root hands it to {@code postgres} if that account exists, else {@code nobody}.
     */
    static String serverUser() {
        synchronized (LOCK) {
            if (serverUser == null) {
                serverUser = !isRoot() ? "" : succeeds(List.of("id", "-u", "postgres")) ? "postgres" : "nobody";
            }
            return serverUser.isEmpty() ? null : serverUser;
        }
    }

    static boolean isRoot() {
        try {
            return "0".equals(output(List.of("id", "-u")).strip());
        } catch (RuntimeException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /**
     * Runs a command to completion in {@code dir} and returns its combined output.
     *
     * @throws IllegalStateException if it fails or outlives the timeout, with its output
     */
    static String run(List<String> command, Path dir, String runAs, int timeoutSeconds) {
        List<String> full = new ArrayList<>();
        if (runAs != null) {
            full.addAll(List.of("runuser", "-u", runAs, "--"));
        }
        full.addAll(command);
        Path out = null;
        try {
            // A file, not a pipe: a daemon that inherited the pipe would keep us reading forever.
            out = Files.createTempFile("ferry-pg-cmd-", ".out");
            ProcessBuilder builder = new ProcessBuilder(full)
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .redirectInput(new File("/dev/null"));
            sanitize(builder.environment());
            Process process = builder.start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", full) + " did not finish within " + timeoutSeconds
                        + " s: " + read(out));
            }
            String output = read(out);
            if (process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", full) + " exited with " + process.exitValue()
                        + ": " + output.strip());
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException("could not run " + String.join(" ", full), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + String.join(" ", full), e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // A leftover few bytes in the temp folder are harmless.
                }
            }
        }
    }

    private static void sanitize(Map<String, String> env) {
        // The caller's PGDATA, PGPORT, PGOPTIONS and the like must not leak into a private server.
        env.keySet().removeIf(name -> name.startsWith("PG"));
        // Untranslated messages, and no complaints about locales this machine never generated.
        env.put("LC_ALL", "C");
    }

    private static boolean succeeds(List<String> command) {
        try {
            output(command);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static String output(List<String> command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output.strip());
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8);
    }
}
