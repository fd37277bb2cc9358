package dev.ferry.pipeline;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.EnvelopeWriter;
import dev.ferry.log.DurableFiles;
import dev.ferry.log.EventBytes;
import dev.ferry.log.Offset;
import dev.ferry.source.PositionCodec;
import dev.ferry.source.SourceInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The dead-letter log: events a sink refused as records it can never hold (errors of kind DATA),
 * kept with their reason so that the pipeline goes on and nothing is lost. One small JSON file per
 * event, {@code <state>/dlq/<sink>/<offset>.json}, written durably before the sink's offset moves
 * past the event, so a crash in between writes the same file again: an entry's id,
 * {@code <sink>/<offset>}, names one event once.
 *
 * <p>An entry holds the event twice: as the JSON envelope, for people ({@code ferry dlq show}), and
 * in the Log's binary form, so that {@code ferry dlq replay} gives the sink the very same event.
 *
 * <p>Safe to read from another process while a pipeline adds entries (files appear whole, by
 * rename). Writing is for the process that holds the state folder's lock.
 */
public final class DeadLetterLog {
    /**
     * Without Jackson's bound on the length of one string (20,000,000 characters by default): an entry
     * holds its event whole, and a change of 20 MB of text (or its Log form in base64, a third larger)
     * is one string. With the bound such an event could be neither added nor listed, and a pipeline
     * whose sink refused it stopped at it on every run.
     */
    /**
     * Without Jackson's read limits: an entry is written streamed (a jsonb value raw), so whatever the
     * source holds must read back — a string of many MB, a number of more than 1,000 digits, jsonb nested
     * deeper than 1,000 levels, a key of more than 50,000 characters. Otherwise one such entry would make
     * the whole log unreadable to {@code ferry dlq}.
     */
    public static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE)
                    .maxNumberLength(Integer.MAX_VALUE).maxNestingDepth(Integer.MAX_VALUE).maxNameLength(Integer.MAX_VALUE)
                    .build())
            .streamWriteConstraints(com.fasterxml.jackson.core.StreamWriteConstraints.builder()
                    .maxNestingDepth(Integer.MAX_VALUE).build())
            .build());
    private static final Pattern ENTRY_FILE = Pattern.compile("\\d{20}\\.json");

    private final Path folder;
    private final PositionCodec positions;

    /**
     * One dead-lettered event.
     *
     * @param id         {@code <sink>/<offset>}
     * @param offset     the event's offset in the Log
     * @param table      {@code schema.table}
     * @param op         the envelope's op code
     * @param position   the event's source position, as displayed
     * @param failedAt   when the sink refused it
     * @param reason     the sink's message
     * @param stackTrace where it was thrown, for a bug report
     * @param envelope   the event as the JSON envelope
     */
    public record Entry(String id, String sink, long offset, String table, String op, String position,
                        Instant failedAt, String reason, String stackTrace, JsonNode envelope, byte[] encoded) {
    }

    /** The dead-letter log of the state folder {@code state}; nothing is created until the first entry. */
    public DeadLetterLog(Path state, PositionCodec positions) {
        this.folder = state.resolve("dlq");
        this.positions = positions;
    }

    /**
     * Records that {@code sink} refused {@code event}, at {@code offset}; returns once the entry is on
     * disk. Adding the same sink and offset again replaces the entry. The entry is written as it is
     * made, the event's envelope and its Log form straight into the JSON: the refused event may be a
     * change of many MB (one its Kafka topic refused as too large), and copies of it as text, as a tree
     * and in base64 took ten times its size of heap and more.
     *
     * @return the entry's id, {@code <sink>/<offset>}
     */
    public String add(String sink, Offset offset, ChangeEvent event, FerryException reason, SourceInfo source)
            throws FerryException {
        StringWriter trace = new StringWriter();
        reason.printStackTrace(new PrintWriter(trace));
        String id = sink + "/" + offset.value();
        try {
            byte[] encoded = EventBytes.encode(event, positions);
            Path file = folder.resolve(sink).resolve(String.format("%020d.json", offset.value()));
            DurableFiles.createFolders(file.getParent());
            DurableFiles.replace(file, out -> {
                try (JsonGenerator g = MAPPER.getFactory().createGenerator(out).useDefaultPrettyPrinter()
                        .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)) {
                    g.writeStartObject();
                    g.writeStringField("id", id);
                    g.writeStringField("sink", sink);
                    g.writeNumberField("offset", offset.value());
                    g.writeStringField("table", event.table().toString());
                    g.writeStringField("op", String.valueOf(event.op().code()));
                    g.writeStringField("position", event.position().display());
                    g.writeStringField("failed_at", Instant.now().toString());
                    g.writeStringField("error_kind", reason.kind().name());
                    g.writeStringField("reason", reason.getMessage());
                    g.writeStringField("stack_trace", trace.toString());
                    g.writeFieldName("event");
                    new EnvelopeWriter(source).write(event, g, System.currentTimeMillis());
                    g.writeFieldName("encoded");
                    g.writeBinary(encoded);
                    g.writeEndObject();
                }
            });
            return id;
        } catch (IOException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Cannot write to the dead-letter log in " + folder + ": "
                    + e.getMessage() + ". Check free space and permissions; the event stays in the Log and is "
                    + "delivered again on the next run.", e);
        }
    }

    /** Every entry, by sink and then by offset. */
    public List<Entry> list() throws FerryException {
        List<Entry> entries = new ArrayList<>();
        for (Path file : files()) {
            read(file).ifPresent(entries::add);
        }
        return entries;
    }

    /** How many entries each sink has, by sink name; sinks without entries are absent. */
    public TreeMap<String, Integer> counts() throws FerryException {
        TreeMap<String, Integer> counts = new TreeMap<>();
        for (Path file : files()) {
            counts.merge(file.getParent().getFileName().toString(), 1, Integer::sum);
        }
        return counts;
    }

    /** The entry with this id ({@code <sink>/<offset>}), if there is one. */
    public Optional<Entry> find(String id) throws FerryException {
        Optional<Path> file = file(id);
        return file.isPresent() ? read(file.get()) : Optional.empty();
    }

    /** The event of an entry, exactly as the sink was given it. */
    public dev.ferry.event.ChangeEvent event(Entry entry) throws FerryException {
        try {
            return EventBytes.decode(entry.encoded(), positions);
        } catch (IOException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Dead-letter entry " + entry.id() + " in " + folder
                    + " is damaged: " + e.getMessage() + ". Its envelope is still readable with ferry dlq show.", e);
        }
    }

    /**
     * Removes an entry (replayed, or purged by the user). Removing what is not there does nothing.
     *
     * @return whether there was such an entry
     */
    public boolean remove(String id) throws FerryException {
        Optional<Path> file = file(id);
        if (file.isEmpty()) {
            return false;
        }
        try {
            boolean removed = Files.deleteIfExists(file.get());
            if (removed) {
                DurableFiles.syncFolder(file.get().getParent());
            }
            return removed;
        } catch (IOException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Cannot remove dead-letter entry " + id + " from " + folder
                    + ": " + e.getMessage() + ".", e);
        }
    }

    private Optional<Path> file(String id) {
        int slash = id.lastIndexOf('/');
        if (slash <= 0 || slash == id.length() - 1) {
            return Optional.empty();
        }
        String sink = id.substring(0, slash);
        long offset;
        try {
            offset = Long.parseLong(id.substring(slash + 1));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        if (offset < 0 || sink.contains("/") || sink.startsWith(".")) {
            return Optional.empty();
        }
        return Optional.of(folder.resolve(sink).resolve(String.format("%020d.json", offset)));
    }

    private List<Path> files() throws FerryException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> sinks = Files.newDirectoryStream(folder, Files::isDirectory)) {
            for (Path sink : sinks) {
                try (DirectoryStream<Path> entries = Files.newDirectoryStream(sink)) {
                    for (Path f : entries) {
                        if (ENTRY_FILE.matcher(f.getFileName().toString()).matches()) {
                            files.add(f);
                        }
                    }
                }
            }
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Cannot read the dead-letter log in " + folder + ": "
                    + e.getMessage() + ".", e);
        }
        files.sort(Comparator.comparing((Path f) -> f.getParent().getFileName().toString())
                .thenComparing(f -> f.getFileName().toString()));
        return files;
    }

    private Optional<Entry> read(Path file) throws FerryException {
        try {
            return Optional.of(entry(MAPPER.readTree(Files.readAllBytes(file))));
        } catch (NoSuchFileException e) {
            return Optional.empty(); // replayed or purged meanwhile
        } catch (IOException | RuntimeException e) {
            throw new FerryException(ErrorKind.INTERNAL, "Dead-letter entry " + file + " is damaged: " + e.getMessage()
                    + ". Move it out of the way to go on; it is readable as text.", e);
        }
    }

    private static Entry entry(JsonNode n) {
        return new Entry(n.path("id").asText(), n.path("sink").asText(), n.path("offset").asLong(),
                n.path("table").asText(), n.path("op").asText(), n.path("position").asText(),
                Instant.parse(n.path("failed_at").asText()), n.path("reason").asText(), n.path("stack_trace").asText(),
                n.path("event"), Base64.getDecoder().decode(n.path("encoded").asText()));
    }
}
