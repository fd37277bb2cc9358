package dev.ferry.cli;

import dev.ferry.config.ConfigLoader;
import dev.ferry.config.PipelineConfig;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.log.FileLog;
import dev.ferry.log.LogEntry;
import dev.ferry.log.LogReader;
import dev.ferry.log.Offset;
import dev.ferry.pipeline.PipelineAssembly;
import dev.ferry.sink.Sink;
import java.io.PrintStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry status -c FILE}: where the source, the Log and each sink stand. Reads only; safe
 * while the pipeline runs in another process.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show the source position (for PostgreSQL: the slot and the WAL it retains), the Log's "
                + "head and size, and each sink's committed offset and lag. Reads only.")
final class StatusCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, description = "the pipeline file")
    Path config;

    @Override
    public Integer call() throws Exception {
        PipelineConfig pc = ConfigLoader.load(config);
        PrintStream out = System.out;
        try (PipelineAssembly assembly = PipelineAssembly.create(pc)) {
            out.println("pipeline " + pc.name());
            running(pc, out);
            out.println("source");
            for (Map.Entry<String, String> e : assembly.source().status().entrySet()) {
                row(out, e.getKey(), e.getValue());
            }
            if (pc.schedule() != null) {
                out.println("schedule");
                ScheduledRuns runs = new ScheduledRuns(Schedule.read(pc.schedule()), java.time.Clock.systemDefaultZone(),
                        pc.state().resolve("schedule.json"));
                for (Map.Entry<String, String> e : runs.status().entrySet()) {
                    row(out, e.getKey(), e.getValue());
                }
            }
            if (!assembly.logType().equals(dev.ferry.log.FileLogFactory.TYPE)) {
                sharedLog(assembly, out);
                return 0;
            }
            Path logDir = pc.state().resolve("log");
            FileLog log;
            try {
                log = FileLog.openReadOnly(logDir, assembly.positionCodec());
            } catch (NoSuchFileException e) {
                out.println("log");
                row(out, "state folder", pc.state() + " (no Log yet: the pipeline has not run)");
                return 0;
            } catch (java.io.IOException | RuntimeException e) {
                // the running pipeline may be recovering or deleting a segment right now
                out.println("log");
                row(out, "state folder", pc.state() + " (could not be read just now: " + e.getMessage()
                        + "; try again)");
                return 1;
            }
            try (log) {
                out.println("log");
                row(out, "folder", logDir.toString());
                row(out, "last position", log.lastPosition().map(p -> p.display()).orElse("-"));
                row(out, "offsets held", log.start() + " to " + (log.end().value() - 1));
                long cap = assembly.logSettings().maxBytes();
                row(out, "size", String.format("%,d bytes", log.sizeBytes())
                        + (cap > 0 ? String.format(" of a %,d-byte cap (log.max_mb)", cap) : ""));
                if (cap > 0 && log.sizeBytes() >= cap) {
                    row(out, "backpressure", "capture is paused until the slowest sink catches up");
                }
                Map<String, Integer> deadLetters = assembly.deadLetterLog().counts();
                for (int i = 0; i < assembly.sinks().size(); i++) {
                    Sink sink = assembly.sinks().get(i);
                    String sinkName = assembly.sinkNames().get(i);
                    out.println("sink " + assembly.sinkNames().get(i));
                    Optional<Offset> committed;
                    try {
                        committed = sink.peekCommitted();
                    } catch (FerryException e) {
                        if (e.kind() != ErrorKind.CONNECTIVITY) {
                            throw e;
                        }
                        // a DuckDB file is held by the running pipeline: status still shows the rest
                        row(out, "committed offset", "unknown: " + e.getMessage());
                        continue;
                    }
                    sinkRows(out, log, committed, deadLetters.getOrDefault(sinkName, 0));
                }
            }
        }
        return 0;
    }

    /** A sink's (or a sink's instance for one partition's) committed offset, lag, age and dead letters. */
    private void sinkRows(PrintStream out, dev.ferry.log.Log log, Optional<Offset> committed, int dead) throws Exception {
        long next = committed.map(o -> o.value() + 1).orElse(log.start().value());
        long behind = Math.max(0, log.end().value() - next);
        row(out, "committed offset", committed.map(Offset::toString).orElse("none yet"));
        row(out, "behind the Log", String.format("%,d events", behind));
        if (behind > 0 && next >= log.start().value()) {
            row(out, "oldest undelivered change", age(log, next));
        }
        row(out, "dead-letter log", dead == 0 ? "empty"
                : String.format("%,d events (ferry dlq list -c %s)", dead, config));
    }

    /**
     * A Log that sink workers share (Kafka): where it is, the workers' group and who holds which
     * partition, each partition's offsets, then per sink and partition ({@code <sink>.p<partition>},
     * as workers name them) the committed offset read from the sink's target, the lag and its age.
     */
    private void sharedLog(PipelineAssembly assembly, PrintStream out) throws Exception {
        out.println("log");
        row(out, "type", assembly.logType());
        try (dev.ferry.log.SharedLog shared = assembly.openSharedLog()) {
            for (Map.Entry<String, String> e : shared.describe().entrySet()) {
                row(out, e.getKey(), e.getValue());
            }
            int partitions = shared.partitions();
            if (!shared.exists()) {
                row(out, "partitions", "the Log does not exist yet; the capture creates it (ferry run, or ferry run "
                        + "--role capture)");
                return;
            }
            List<dev.ferry.log.FollowedLog> parts = new java.util.ArrayList<>();
            try {
                for (int p = 0; p < partitions; p++) {
                    // any error (a topic of another partition count than log.partitions) is the command's
                    dev.ferry.log.FollowedLog part = shared.readPartition(p);
                    parts.add(part);
                    row(out, "partition " + p, "offsets " + part.start() + " to " + (part.end().value() - 1)
                            + ", last position " + part.lastPosition().map(q -> q.display()).orElse("-"));
                }
                Map<String, Integer> deadLetters = assembly.deadLetterLog().counts();
                for (String sinkName : assembly.sinkNames()) {
                    for (int p = 0; p < partitions; p++) {
                        String name = partitions == 1 ? sinkName
                                : dev.ferry.pipeline.SinkWorkers.partitionSinkName(sinkName, p);
                        out.println("sink " + name);
                        Optional<Offset> committed;
                        try {
                            committed = assembly.sinkNamed(name).orElseThrow().peekCommitted();
                        } catch (FerryException e) {
                            if (e.kind() != ErrorKind.CONNECTIVITY) {
                                throw e;
                            }
                            row(out, "committed offset", "unknown: " + e.getMessage());
                            continue;
                        }
                        int dead = deadLetters.getOrDefault(name, 0)
                                + (partitions == 1 ? deadLetters.getOrDefault(
                                        dev.ferry.pipeline.SinkWorkers.partitionSinkName(sinkName, 0), 0) : 0);
                        sinkRows(out, parts.get(p), committed, dead);
                    }
                }
            } finally {
                for (dev.ferry.log.FollowedLog part : parts) {
                    part.close();
                }
            }
        }
    }

    /**
     * What the running pipeline says about itself through its admin endpoint, when the pipeline file
     * gives one with a fixed port: whether it runs, and which server it keeps retrying since when.
     */
    private static void running(PipelineConfig pc, PrintStream out) {
        if (pc.admin() == null) {
            return;
        }
        int port;
        String bind;
        try {
            port = pc.admin().get(AdminServer.PORT);
            bind = pc.admin().get(AdminServer.BIND);
        } catch (dev.ferry.error.FerryException e) {
            return; // reported by run and check
        }
        if (port == 0) {
            return;
        }
        String host = bind.equals("0.0.0.0") || bind.equals("::") ? "127.0.0.1" : bind.contains(":") ? "[" + bind + "]" : bind;
        String url = "http://" + host + ":" + port + "/status";
        com.fasterxml.jackson.databind.JsonNode status;
        try {
            java.net.http.HttpResponse<String> response = java.net.http.HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(1)).build()
                    .send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).timeout(Duration.ofSeconds(2))
                            .GET().build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            status = new com.fasterxml.jackson.databind.ObjectMapper().readTree(response.body());
        } catch (Exception e) {
            out.println("running");
            row(out, "admin endpoint", url + " does not answer: the pipeline is not running here");
            return;
        }
        out.println("running");
        row(out, "state", status.path("state").asText());
        row(out, "source", retrying(status.path("source_retrying"), "connected"));
        for (com.fasterxml.jackson.databind.JsonNode sink : status.path("sinks")) {
            row(out, "sink " + sink.path("name").asText(), retrying(sink.path("retrying"), "writing")
                    + (sink.path("lag_ms").asLong() >= 0 ? ", lag " + sink.path("lag_ms").asLong() + " ms" : ""));
        }
    }

    private static String retrying(com.fasterxml.jackson.databind.JsonNode r, String fine) {
        if (r.isNull() || r.isMissingNode()) {
            return fine;
        }
        return "retrying since " + r.path("since").asText() + ": " + r.path("reason").asText();
    }

    private static String age(dev.ferry.log.Log log, long offset) throws Exception {
        try (LogReader reader = log.readFrom(Offset.of(offset))) {
            List<LogEntry> first = reader.read(1, log.end());
            if (first.isEmpty()) {
                return "-";
            }
            ChangeEvent e = first.get(0).event();
            Duration age = Duration.between(e.committedAt(), Instant.now());
            return "committed " + age.toSeconds() + " s ago (" + e.committedAt() + ")";
        }
    }

    private static void row(PrintStream out, String label, String value) {
        out.printf("  %-28s %s%n", label, value);
    }
}
