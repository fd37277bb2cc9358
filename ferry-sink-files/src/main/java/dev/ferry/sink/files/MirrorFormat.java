package dev.ferry.sink.files;

import dev.ferry.error.FerryException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Compacts a table's history files into its mirror: one file holding each key's newest row, as the
 * table is at the source. Called from the sink's delivery thread only.
 */
public interface MirrorFormat {
    /**
     * Writes into {@code file} (which does not exist) the mirror that {@code history} makes of
     * {@code previous}: per key the newest row by Log offset, after the last truncate, without deleted
     * keys, a column listed in {@code _ferry_unchanged} keeping the key's value before. Each mirror row
     * carries {@code _ferry_offset}, the offset of its newest change, then the columns.
     *
     * @param previous   the mirror as of offset {@code after}, or null to build from the history alone
     * @param after      the offset {@code previous} holds; history rows at or below it are ignored
     * @param history    the table's history files holding the changes after {@code after}
     * @param keyColumns the table's primary key
     */
    void writeMirror(Path file, Path previous, long after, List<Path> history, List<String> keyColumns)
            throws IOException, FerryException;
}
