package dev.ferry.sink.files;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.log.DurableRecord;
import dev.ferry.log.Offset;
import dev.ferry.source.Check;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * The commit point of a file sink's output folder: {@code <root>/_ferry/offset.json}, a
 * {@link DurableRecord} (two slots, {@code .a} and {@code .b}, written in turn) holding the pipeline's
 * name and the committed Log offset. Opened at the first need and kept open; one thread.
 */
final class OffsetManifest implements AutoCloseable {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Path root;
    private final String pipelineName;
    private final String sinkName;
    private DurableRecord record;
    /** The manifest as last read; null before a read or when there is none. */
    private JsonNode lastRead;

    /**
     * @param sinkName the sink type for messages ({@code JSONL}, {@code CSV})
     */
    OffsetManifest(Path root, String pipelineName, String sinkName) {
        this.root = root;
        this.pipelineName = pipelineName;
        this.sinkName = sinkName;
    }

    Path path() {
        return root.resolve("_ferry").resolve("offset.json");
    }

    /** Whether the output folder can be written: the {@code ferry check} of every file sink. */
    static Check checkWritable(Path root) {
        try {
            Files.createDirectories(root.resolve("_ferry"));
            Files.delete(Files.createTempFile(root.resolve("_ferry"), "check", ".tmp"));
            return Check.ok("output folder", root + " is writable");
        } catch (IOException e) {
            return Check.problem("output folder", "cannot write to " + root + ": " + e.getMessage(),
                    "Create the folder and make it writable, or set the sink's path: to another folder.");
        }
    }

    private DurableRecord record() throws IOException {
        if (record == null) {
            record = DurableRecord.open(path().getParent(), path().getFileName().toString());
        }
        return record;
    }

    /** The committed offset; empty when nothing was committed. A folder of another pipeline is a CONFIG error. */
    Optional<Offset> read() throws FerryException {
        try {
            Optional<byte[]> bytes = record().read();
            lastRead = null;
            if (bytes.isEmpty()) {
                return Optional.empty();
            }
            JsonNode node = MAPPER.readTree(bytes.get());
            lastRead = node;
            String owner = node.path("pipeline").asText();
            if (!owner.equals(pipelineName)) {
                throw new FerryException(ErrorKind.CONFIG, "The " + sinkName + " output folder " + root + " belongs to pipeline "
                        + owner + ", not " + pipelineName + ". Give each pipeline its own sink path.");
            }
            JsonNode offset = node.get("offset");
            if (offset == null || !offset.canConvertToLong() || offset.asLong() < 0) {
                throw new FerryException(ErrorKind.INTERNAL, "The " + sinkName + " sink's manifest " + path() + " has no valid "
                        + "offset (it is kept in " + path().getFileName() + ".a and .b, the newer valid one counts). Restore "
                        + "them, or delete the output folder to write everything again.");
            }
            return Optional.of(Offset.of(offset.asLong()));
        } catch (IOException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Cannot read the " + sinkName + " sink's manifest " + path() + ": "
                    + e.getMessage(), e);
        }
    }

    /** A field the sink keeps beside the offset, as the last {@link #read()} found it; null when absent. */
    JsonNode field(String name) {
        return lastRead == null ? null : lastRead.get(name);
    }

    /** Makes {@code last} the committed offset, durably: the commit of a batch. */
    void write(Offset last) throws IOException {
        write(last, Map.of());
    }

    /** As {@link #write(Offset)}, with fields of the sink's own kept beside the offset in the same commit. */
    void write(Offset last, Map<String, ?> fields) throws IOException {
        Map<String, Object> manifest = new java.util.LinkedHashMap<>();
        manifest.put("pipeline", pipelineName);
        manifest.put("offset", last.value());
        manifest.put("committed_at", Instant.now().toString());
        manifest.putAll(fields);
        record().write(MAPPER.writeValueAsBytes(manifest));
    }

    @Override
    public void close() throws IOException {
        if (record != null) {
            record.close();
            record = null;
        }
    }
}
