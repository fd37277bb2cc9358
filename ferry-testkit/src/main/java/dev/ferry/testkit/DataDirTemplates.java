package dev.ferry.testkit;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Server data directories made once per JVM and binaries folder, then copied for each new server: a
 * copy of PostgreSQL's 39 MB after initdb takes about 0.2 s, initdb itself 0.9 s on a quiet machine
 * and three times that under the test suite's load (MariaDB's install, 3-5 s, the same way).
 *
 * <p>Thread-safe. The first caller for a binaries folder makes its template while later callers for
 * that folder wait; callers for other folders are not held up. A make that fails is not remembered:
 * the next caller tries again. Every template's folder is deleted when the JVM exits.
 */
final class DataDirTemplates {
    private static final Set<Path> FOLDERS = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> FOLDERS.forEach(PostgresBinaries::deleteTree),
                "ferry-template-reaper"));
    }

    /** Fills the empty folder it is given with a {@code data} subfolder; runs once per template. */
    @FunctionalInterface
    interface Maker {
        void make(Path folder) throws IOException;
    }

    private final String prefix;
    private final ConcurrentMap<Path, Template> templates = new ConcurrentHashMap<>();

    /** @param prefix the name prefix of the templates' temporary folders */
    DataDirTemplates(String prefix) {
        this.prefix = prefix;
    }

    /**
     * Copies the template of {@code bin} to {@code target}, which must not exist yet, after making the
     * template with {@code maker} if this JVM has none for {@code bin}. File modes, times and (when the
     * JVM runs as root) owners are kept.
     */
    void copy(Path bin, Maker maker, Path target) throws IOException {
        Path data = templates.computeIfAbsent(bin, b -> new Template()).data(maker);
        copyTree(data, target);
    }

    private final class Template {
        private Path data; // guarded by this

        synchronized Path data(Maker maker) throws IOException {
            if (data == null) {
                Path folder = Files.createTempDirectory(prefix);
                FOLDERS.add(folder);
                try {
                    maker.make(folder);
                } catch (IOException | RuntimeException e) {
                    PostgresBinaries.deleteTree(folder);
                    FOLDERS.remove(folder);
                    throw e;
                }
                data = folder.resolve("data");
            }
            return data;
        }
    }

    private static void copyTree(Path source, Path target) throws IOException {
        Files.walkFileTree(source, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                // copies the directory alone, with its mode: PostgreSQL refuses a data directory open to others
                Files.copy(dir, target.resolve(source.relativize(dir)), StandardCopyOption.COPY_ATTRIBUTES);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.copy(file, target.resolve(source.relativize(file)), StandardCopyOption.COPY_ATTRIBUTES,
                        LinkOption.NOFOLLOW_LINKS);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
