package dev.ferry.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Small files replaced whole and durably: the way manifests and progress records are written. */
public final class DurableFiles {
    private DurableFiles() {
    }

    /**
     * Replaces {@code file} with {@code bytes}: written to a temporary file beside it, fsync'd, renamed
     * over it, and the folder fsync'd, so that after a crash the file holds either the old or the new
     * content, whole.
     */
    public static void replace(Path file, byte[] bytes) throws IOException {
        replace(file, out -> out.write(bytes));
    }

    /** What {@link #replace(Path, Content)} writes. */
    @FunctionalInterface
    public interface Content {
        /** Writes the content; {@code out} is buffered and must not be closed. */
        void writeTo(java.io.OutputStream out) throws IOException;
    }

    /**
     * {@link #replace(Path, byte[])} with content written as it is made, for a file too large to hold
     * in memory twice (a dead-letter entry of a change of many MB).
     */
    public static void replace(Path file, Content content) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            java.io.OutputStream out = new java.io.BufferedOutputStream(java.nio.channels.Channels.newOutputStream(ch),
                    64 * 1024);
            content.writeTo(out);
            out.flush();
            ch.force(false);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp); // a half-written copy of a change of many MB must not stay behind
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncFolder(dir);
    }

    /**
     * Creates {@code dir} and its missing parents so that they survive a power cut: each new folder's
     * parent is fsync'd after the folder appears in it.
     */
    public static void createFolders(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath();
        if (Files.isDirectory(absolute)) {
            return;
        }
        Path parent = absolute.getParent();
        if (parent != null) {
            createFolders(parent);
        }
        try {
            Files.createDirectory(absolute);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            if (!Files.isDirectory(absolute)) {
                throw e;
            }
        }
        if (parent != null) {
            syncFolder(parent);
        }
    }

    /** fsyncs a folder, so that a rename or deletion in it survives a power cut. */
    public static void syncFolder(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
