package dev.ferry.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.pipeline.DeadLetterLog;
import dev.ferry.pipeline.Pipeline;
import dev.ferry.pipeline.PipelineStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code admin:} HTTP endpoint of {@code ferry run}: {@code /health} for a supervisor's liveness
 * check, {@code /status} as JSON, {@code /metrics} in Prometheus' text format (Micrometer). Binds to
 * the loopback address unless {@code bind:} says otherwise. Read-only: nothing here changes the
 * pipeline. One thread of its own, the CLI's (plugins never start threads).
 */
final class AdminServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    static final Setting<Integer> PORT = Setting.integer("port",
            "TCP port of the endpoint; 0 picks a free one (logged at start)", 0, 65535).required();
    static final Setting<String> BIND = Setting.string("bind",
            "address to listen on; the default keeps the endpoint to this machine. 0.0.0.0 opens it to every "
                    + "network the machine is on: put it behind a firewall", "127.0.0.1").withDefault("127.0.0.1");
    /** The {@code admin:} keys, for validation and the reference docs. */
    static final List<Setting<?>> ALL = List.of(PORT, BIND);

    private final HttpServer http;
    private final Pipeline pipeline;
    private final String name;
    private final DeadLetterLog deadLetters;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
    private final java.util.concurrent.ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "ferry-admin");
        t.setDaemon(true);
        return t;
    });
    private volatile PipelineStats stats;

    private AdminServer(HttpServer http, String name, Pipeline pipeline, DeadLetterLog deadLetters) {
        this.http = http;
        this.name = name;
        this.pipeline = pipeline;
        this.deadLetters = deadLetters;
    }

    /**
     * Starts the endpoint the {@code admin:} section describes, or returns null when there is none.
     *
     * @throws FerryException CONFIG when the section is wrong or the address cannot be bound
     */
    static AdminServer start(ComponentConfig admin, String name, Pipeline pipeline, DeadLetterLog deadLetters)
            throws FerryException {
        if (admin == null) {
            return null;
        }
        validate(admin);
        int port = admin.get(PORT);
        String bind = admin.get(BIND);
        HttpServer http;
        try {
            http = HttpServer.create(new InetSocketAddress(InetAddress.getByName(bind), port), 16);
        } catch (IOException e) {
            throw FerryException.config(admin.where("port") + ": cannot listen on " + bind + ":" + port + " ("
                    + e.getMessage() + "). Choose a free port, or 0 for any.");
        }
        AdminServer server = new AdminServer(http, name, pipeline, deadLetters);
        server.bindMetrics();
        http.createContext("/health", ex -> server.answer(ex, server::health));
        http.createContext("/status", ex -> server.answer(ex, server::status));
        http.createContext("/metrics", ex -> server.answer(ex, server::metrics));
        http.setExecutor(server.executor);
        http.start();
        LOG.info("Admin endpoint on http://{}:{}/ (health, status, metrics)", bind.contains(":") ? "[" + bind + "]" : bind,
                http.getAddress().getPort());
        return server;
    }

    /** Checks the {@code admin:} section's keys and values, if there is one; connects to nothing. */
    static void validate(ComponentConfig admin) throws FerryException {
        if (admin != null) {
            admin.rejectUnknownKeys(ALL);
            admin.get(PORT);
            admin.get(BIND);
        }
    }

    /** The port the endpoint listens on. */
    int port() {
        return http.getAddress().getPort();
    }

    private record Reply(int code, String contentType, byte[] body) {
    }

    private interface Page {
        Reply render() throws IOException;
    }

    private void answer(HttpExchange ex, Page page) throws IOException {
        try (ex) {
            if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                ex.sendResponseHeaders(405, -1);
                return;
            }
            Reply reply;
            try {
                stats = pipeline.stats();
                reply = page.render();
            } catch (IOException | RuntimeException e) {
                LOG.debug("admin endpoint {} failed", ex.getRequestURI(), e);
                reply = new Reply(500, "text/plain; charset=utf-8", ("error: " + e.getMessage() + "\n")
                        .getBytes(StandardCharsets.UTF_8));
            }
            ex.getResponseHeaders().set("Content-Type", reply.contentType());
            boolean head = "HEAD".equals(ex.getRequestMethod());
            ex.sendResponseHeaders(reply.code(), head ? -1 : reply.body().length);
            if (!head) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(reply.body());
                }
            }
        }
    }

    private Reply health() throws IOException {
        boolean up = pipeline.failure().isEmpty();
        return json(up ? 200 : 503, g -> {
            g.writeStringField("status", up ? "UP" : "DOWN");
            if (!up) {
                g.writeStringField("reason", String.valueOf(pipeline.failure().get().getMessage()));
            }
        });
    }

    private Reply status() throws IOException {
        PipelineStats s = stats;
        Map<String, Integer> dead = deadLetterCounts();
        return json(200, g -> {
            g.writeStringField("pipeline", name);
            g.writeStringField("state", pipeline.failure().isPresent() ? "failed" : "running");
            g.writeNumberField("snapshot_rows", s.snapshotRows());
            g.writeNumberField("streamed_changes", s.streamedChanges());
            g.writeNumberField("log_end_offset", s.logEnd());
            g.writeNumberField("log_bytes", s.logBytes());
            g.writeBooleanField("backpressured", s.backpressured());
            g.writeBooleanField("disk_full", s.diskFull());
            writeRetrying(g, "source_retrying", s.sourceRetrying());
            g.writeArrayFieldStart("sinks");
            for (PipelineStats.SinkStats k : s.sinks()) {
                g.writeStartObject();
                g.writeStringField("name", k.name());
                g.writeNumberField("committed_offset", k.committedOffset());
                g.writeNumberField("delivered", k.delivered());
                g.writeNumberField("lag_ms", k.lagMillis());
                g.writeNumberField("dead_lettered_this_run", k.deadLettered());
                g.writeNumberField("skipped_this_run", k.skipped());
                g.writeNumberField("dead_letter_entries", dead.getOrDefault(k.name(), 0));
                writeRetrying(g, "retrying", k.retrying());
                g.writeEndObject();
            }
            g.writeEndArray();
        });
    }

    /** {@code "field": {"since": ..., "reason": ...}}, or null while the server answers. */
    private static void writeRetrying(JsonGenerator g, String field, PipelineStats.Retrying r) throws IOException {
        if (r == null) {
            g.writeNullField(field);
            return;
        }
        g.writeObjectFieldStart(field);
        g.writeStringField("since", r.since().toString());
        g.writeStringField("reason", r.reason());
        g.writeEndObject();
    }

    private static double secondsRetrying(PipelineStats.Retrying r) {
        return r == null ? 0 : Math.max(0.001, (System.currentTimeMillis() - r.since().toEpochMilli()) / 1000.0);
    }

    private Reply metrics() {
        return new Reply(200, "text/plain; version=0.0.4; charset=utf-8",
                registry.scrape().getBytes(StandardCharsets.UTF_8));
    }

    private interface Fields {
        void write(JsonGenerator g) throws IOException;
    }

    private static Reply json(int code, Fields fields) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        try (JsonGenerator g = MAPPER.getFactory().createGenerator(body)) {
            g.writeStartObject();
            fields.write(g);
            g.writeEndObject();
        }
        body.write('\n');
        return new Reply(code, "application/json", body.toByteArray());
    }

    private Map<String, Integer> deadLetterCounts() {
        try {
            return deadLetters.counts();
        } catch (FerryException e) {
            return Map.of();
        }
    }

    /** Meters read the counters of the stats taken for each request (a scrape takes them first). */
    private void bindMetrics() {
        new JvmMemoryMetrics().bindTo(registry);
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        stats = pipeline.stats();
        counter("ferry.snapshot.rows", "rows read by snapshots and durable in the Log", s -> s.snapshotRows());
        counter("ferry.streamed.changes", "changes captured from the stream and durable in the Log",
                s -> s.streamedChanges());
        gauge("ferry.log.end.offset", "the Log's next offset", s -> s.logEnd());
        gauge("ferry.log.size.bytes", "the Log's size on disk", s -> s.logBytes());
        gauge("ferry.capture.backpressured", "1 while capture waits because the Log is at its size cap",
                s -> s.backpressured() ? 1 : 0);
        gauge("ferry.capture.disk.full", "1 while capture waits because the state folder's disk is full",
                s -> s.diskFull() ? 1 : 0);
        // recorded by the capture thread as each fsync returns: a scrape could not see a single slow one
        Timer syncs = Timer.builder("ferry.log.sync")
                .description("the Log's fsyncs that made appends durable (capture waits for them): count, total and "
                        + "recent max time; a stall with a long max is the state folder's disk")
                .tag("pipeline", name).register(registry);
        if (!pipeline.addLogSyncListener((nanos, bytes, events) -> syncs.record(nanos, TimeUnit.NANOSECONDS))) {
            registry.remove(syncs); // a Log without fsyncs of its own (Kafka: the brokers make appends durable)
        }
        gauge("ferry.source.retrying", "seconds capture has been reconnecting to the source; 0 while connected",
                s -> secondsRetrying(s.sourceRetrying()));
        for (int i = 0; i < stats.sinks().size(); i++) {
            int index = i;
            String sink = stats.sinks().get(i).name();
            FunctionCounter.builder("ferry.sink.delivered", this, a -> a.stats.sinks().get(index).delivered())
                    .description("events written to the sink this run").tag("sink", sink).register(registry);
            FunctionCounter.builder("ferry.sink.dead.lettered", this, a -> a.stats.sinks().get(index).deadLettered())
                    .description("events the sink refused that went to the dead-letter log, this run")
                    .tag("sink", sink).register(registry);
            FunctionCounter.builder("ferry.sink.skipped", this, a -> a.stats.sinks().get(index).skipped())
                    .description("events the sink refused that were skipped, this run").tag("sink", sink)
                    .register(registry);
            Gauge.builder("ferry.sink.committed.offset", this, a -> a.stats.sinks().get(index).committedOffset())
                    .description("the offset after the sink's last committed event").tag("sink", sink).register(registry);
            Gauge.builder("ferry.sink.lag", this, a -> a.stats.sinks().get(index).lagMillis() / 1000.0)
                    .description("commit-to-delivery time of the last streamed change; -0.001 before the first")
                    .baseUnit("seconds").tag("sink", sink).register(registry);
            Gauge.builder("ferry.sink.retrying", this, a -> secondsRetrying(a.stats.sinks().get(index).retrying()))
                    .description("seconds delivery has been retrying the sink (it cannot be reached); 0 while it writes")
                    .tag("sink", sink).register(registry);
            Gauge.builder("ferry.sink.dead.letter.entries", this, a -> a.deadLetterCounts().getOrDefault(sink, 0))
                    .description("entries of the sink in the dead-letter log (ferry dlq list)").tag("sink", sink)
                    .register(registry);
        }
    }

    private void counter(String meter, String description, ToDoubleFunction<PipelineStats> value) {
        FunctionCounter.builder(meter, this, a -> value.applyAsDouble(a.stats)).description(description)
                .tag("pipeline", name).register(registry);
    }

    private void gauge(String meter, String description, ToDoubleFunction<PipelineStats> value) {
        Gauge.builder(meter, this, a -> value.applyAsDouble(a.stats)).description(description)
                .tag("pipeline", name).register(registry);
    }

    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
        gcMetrics.close();
        registry.close();
    }
}
