package dev.ferry.pipeline;

import dev.ferry.config.ComponentConfig;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.log.FollowedLog;
import dev.ferry.log.SharedLog;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkFactory;
import dev.ferry.sink.SinkSettings;
import dev.ferry.source.Source;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * A sink worker ({@code ferry run --role sinks}): delivers the partitions of a {@link SharedLog} that
 * its group gives this process. Per partition it opens one instance of every sink
 * ({@link SinkFactory#createForPartition}), which reads its committed offset from its target, and runs
 * a {@link Pipeline#deliver} of them on a thread of its own; when the partition is taken away it
 * stops them after their current write ({@link Pipeline#revoke}) before the next worker gets it.
 *
 * <p>A failure of any partition's delivery (one that retries do not heal) stops the worker: its
 * partitions go to the other workers, which meet the same failure or not.
 */
public final class SinkWorkers {
    private static final Logger LOG = LoggerFactory.getLogger(SinkWorkers.class);

    /** What the worker needs of each configured sink. */
    record SinkSpec(SinkFactory factory, ComponentConfig config, String name, SinkSettings settings) {
    }

    private record Running(Pipeline pipeline, Thread thread, List<Sink> sinks, FollowedLog log) {
    }

    private final String name;
    private final Source source;
    private final SharedLog log;
    private final List<SinkSpec> specs;
    private final int maxBatchEvents;
    private final DeadLetterLog deadLetters;
    private final Map<Integer, Running> running = new TreeMap<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean stopping;
    /** When the stop was asked for: the partitions' drain counts from it. */
    private volatile long stopRequestedAt;
    /** Whether the drain of a stop was logged; only {@link #run()}'s thread reads and sets it. */
    private boolean drainAnnounced;

    SinkWorkers(String name, Source source, SharedLog log, List<SinkSpec> specs, int maxBatchEvents,
                DeadLetterLog deadLetters) {
        this.name = name;
        this.source = source;
        this.log = log;
        this.specs = List.copyOf(specs);
        this.maxBatchEvents = maxBatchEvents;
        this.deadLetters = deadLetters;
    }

    /** Delivers the partitions given to this process until {@link #stop()} or a failure. Blocks. */
    public void run() throws FerryException {
        MDC.put("pipeline", name);
        LOG.info("Sink worker of pipeline {}: joining the workers of its Log ({} partitions)", name, log.partitions());
        try {
            log.follow(new SharedLog.Assignments() {
                @Override
                public void assigned(int partition, FollowedLog partitionLog) {
                    start(partition, partitionLog);
                }

                @Override
                public void revoked(int partition) {
                    SinkWorkers.this.revoked(partition);
                }
            }, () -> stopping || failure.get() != null);
        } finally {
            for (Integer p : new ArrayList<>(running.keySet())) {
                revoked(p);
            }
            log.close();
        }
        Throwable f = failure.get();
        if (f instanceof FerryException fe) {
            throw fe;
        }
        if (f != null) {
            throw new FerryException(ErrorKind.INTERNAL, "The sink worker of pipeline " + name + " failed: " + f, f);
        }
        LOG.info("Sink worker of pipeline {} stopped", name);
    }

    /**
     * Asks {@link #run()} to give up its partitions and return: each partition's sinks first deliver
     * what it holds now (for at most {@link Pipeline#DRAIN_MILLIS}; the rest stays in the Log for the
     * worker that takes it next). Any thread.
     */
    public void stop() {
        stop(System.currentTimeMillis());
    }

    /**
     * {@link #stop()}, the drain counted from {@code requestedAtMillis}: in one process with the capture, the
     * signal's time, so that the capture's stop and the worker's drain share the shutdown's time.
     */
    public void stop(long requestedAtMillis) {
        if (!stopping) {
            stopRequestedAt = requestedAtMillis;
        }
        stopping = true;
    }

    private void start(int partition, FollowedLog partitionLog) {
        List<Sink> sinks = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<SinkSettings> settings = new ArrayList<>();
        try {
            for (SinkSpec spec : specs) {
                sinks.add(spec.factory().createForPartition(name, spec.config(), source.info(), partition,
                        log.partitions()));
                names.add(partitionSinkName(spec.name(), partition));
                settings.add(spec.settings());
            }
        } catch (FerryException e) {
            sinks.forEach(Sink::close);
            closeQuietly(partitionLog);
            failure.compareAndSet(null, e);
            return;
        }
        Pipeline pipeline = new Pipeline(name, source, partitionLog, sinks, names, maxBatchEvents);
        pipeline.sinkSettings(settings);
        pipeline.deadLetters(deadLetters);
        Thread thread = new Thread(() -> {
            MDC.put("pipeline", name);
            try {
                pipeline.deliver(partitionLog);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                LOG.error("partition {}: delivery failed: {}", partition, t.getMessage());
            }
        }, "ferry-partition-" + partition);
        running.put(partition, new Running(pipeline, thread, sinks, partitionLog));
        thread.start();
        LOG.info("partition {} assigned to this worker: delivering it to {} from each sink's committed offset; "
                + "partitions here now: {}", partition, String.join(", ", names), running.keySet());
    }

    /**
     * The name of a sink's instance for one partition, {@code <sink>.p<partition>}: in logs, in
     * {@code ferry status}, and as the dead-letter log's folder of its entries (one folder per sink,
     * so no {@code /} in it), which {@link PipelineAssembly#sinkNamed} maps back to the partition's sink.
     */
    public static String partitionSinkName(String sink, int partition) {
        return sink + ".p" + partition;
    }

    private void revoked(int partition) {
        Running r = running.remove(partition);
        if (r == null) {
            return;
        }
        if (stopping && failure.get() == null) {
            // stopped by a signal: every partition here drains at once, then each is waited for
            r.pipeline().drainAndStop(stopRequestedAt);
            running.values().forEach(other -> other.pipeline().drainAndStop(stopRequestedAt));
            if (!drainAnnounced) {
                // logged once every partition here was told to drain, so the line means the drain has begun
                drainAnnounced = true;
                java.util.Set<Integer> draining = new java.util.TreeSet<>(running.keySet());
                draining.add(partition);
                LOG.info("stopping: partitions {} deliver what the Log holds now (for at most {} s from the stop's "
                        + "request), then leave", draining, Pipeline.DRAIN_MILLIS / 1000);
            }
        } else {
            r.pipeline().revoke();
        }
        try {
            r.thread().join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        r.sinks().forEach(Sink::close);
        closeQuietly(r.log());
        LOG.info("partition {} revoked: its deliveries stopped after their last commit; partitions here now: {}",
                partition, running.keySet());
    }

    private static void closeQuietly(FollowedLog log) {
        try {
            log.close();
        } catch (IOException e) {
            // reading only: nothing to lose
        }
    }
}
