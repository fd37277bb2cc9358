package dev.ferry.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * CPU seconds a private PostgreSQL has used so far: the postmaster's own, those of its children that
 * have exited (reaped, so counted in its {@code cutime}/{@code cstime}), and those of its live children
 * (backends, walsenders, the background workers), from /proc. CPU time, unlike wall time, barely
 * moves when other work shares the machine, so it compares contenders on a noisy machine.
 */
final class ServerCpu {
    /** USER_HZ: the unit of /proc's times on Linux, 100 on every common platform. */
    private static final double TICKS_PER_SECOND = 100.0;

    private final long postmaster;

    ServerCpu(Path dataDir) throws IOException {
        this.postmaster = Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).trim());
    }

    /** The server's CPU seconds so far; the difference of two readings is what happened between them. */
    double seconds() throws IOException {
        long ticks = 0;
        String[] own = stat(postmaster);
        if (own == null) {
            throw new IOException("PostgreSQL's postmaster (pid " + postmaster + ") is gone");
        }
        ticks += field(own, 14) + field(own, 15) + field(own, 16) + field(own, 17);
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String[] s = stat(Long.parseLong(name));
                if (s != null && field(s, 4) == postmaster) {
                    ticks += field(s, 14) + field(s, 15) + field(s, 16) + field(s, 17);
                }
            }
        }
        return ticks / TICKS_PER_SECOND;
    }

    /** The fields of /proc/PID/stat after the command name (which may hold spaces), numbered as in proc(5). */
    private static String[] stat(long pid) {
        try {
            String line = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String rest = line.substring(line.lastIndexOf(')') + 2);
            return rest.split(" ");
        } catch (IOException | RuntimeException e) {
            return null; // exited meanwhile
        }
    }

    /** Field {@code n} of proc(5)'s numbering (1 = pid, 2 = comm, 3 = state, ...). */
    private static long field(String[] afterComm, int n) {
        return Long.parseLong(afterComm[n - 3]);
    }
}
