package dev.ferry.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Reads what a JSONL sink wrote, for tests. */
public final class JsonlOutput {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonlOutput() {
    }

    /**
     * Every envelope in the output folder, in Log order (files are named by offset; lines in order),
     * the sink's own {@code _ferry} folder left out; empty when the folder does not exist.
     */
    public static List<JsonNode> envelopes(Path out) throws IOException {
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(out)) {
            try (Stream<Path> s = Files.walk(out)) {
                s.filter(p -> p.toString().endsWith(".jsonl") && !out.relativize(p).startsWith("_ferry")).forEach(files::add);
            }
        }
        files.sort(Comparator.comparing((Path p) -> p.getFileName().toString()).thenComparing(Path::toString));
        List<JsonNode> envelopes = new ArrayList<>();
        for (Path f : files) {
            for (String line : Files.readAllLines(f)) {
                if (!line.isBlank()) {
                    envelopes.add(MAPPER.readTree(line));
                }
            }
        }
        return envelopes;
    }
}
