package dev.ferry.pipeline;

import dev.ferry.config.ComponentConfig;
import dev.ferry.config.PipelineConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.log.FileLogFactory;
import dev.ferry.log.Log;
import dev.ferry.log.LogFactory;
import dev.ferry.log.LogSettings;
import dev.ferry.sink.Sink;
import dev.ferry.sink.SinkFactory;
import dev.ferry.sink.SinkSettings;
import dev.ferry.source.Source;
import dev.ferry.source.SourceFactory;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * Builds the parts of a pipeline from its configuration: the source and sinks through the
 * factories found by {@link ServiceLoader}, the Log in the state folder. Closing it closes them all.
 */
public final class PipelineAssembly implements AutoCloseable {
    private final PipelineConfig config;
    private final Source source;
    private final List<Sink> sinks;
    private final List<String> sinkNames;
    private final List<SinkSettings> sinkSettings;
    private final List<SinkFactory> sinkFactories;
    private final SourceFactory sourceFactory;
    private final LogSettings logSettings;
    private final LogFactory logFactory;
    /** Sinks of one partition made by {@link #sinkNamed}; closed with the assembly. */
    private final List<Sink> partitionSinks = new ArrayList<>();
    private FileChannel lockChannel;
    private Log log;

    private PipelineAssembly(PipelineConfig config, SourceFactory sourceFactory, Source source, List<Sink> sinks,
                             List<String> sinkNames, List<SinkSettings> sinkSettings, List<SinkFactory> sinkFactories,
                             LogFactory logFactory, LogSettings logSettings) {
        this.sinkSettings = List.copyOf(sinkSettings);
        this.sinkFactories = List.copyOf(sinkFactories);
        this.logFactory = logFactory;
        this.config = config;
        this.logSettings = logSettings;
        this.sourceFactory = sourceFactory;
        this.source = source;
        this.sinks = sinks;
        this.sinkNames = sinkNames;
    }

    /** Creates source and sinks; validates every configuration key. Connects to nothing. */
    public static PipelineAssembly create(PipelineConfig config) throws FerryException {
        LogFactory logFactory = logFactory(config.log());
        LogSettings logSettings = LogSettings.read(config.log());
        if (config.log() != null) {
            config.log().rejectUnknownKeys(logFactory.settings());
        }
        SourceFactory sf = sourceFactory(config.source());
        config.source().rejectUnknownKeys(sf.settings());
        List<SinkFactory> sinkFactories = new ArrayList<>();
        List<SinkSettings> sinkSettings = new ArrayList<>();
        for (ComponentConfig sc : config.sinks()) {
            SinkFactory f = sinkFactory(sc);
            List<Setting<?>> keys = new ArrayList<>(f.settings());
            keys.addAll(SinkSettings.ALL);
            sc.rejectUnknownKeys(keys);
            sinkSettings.add(SinkSettings.read(sc, f));
            sinkFactories.add(f);
        }
        Source source = sf.create(config.name(), config.source());
        source.workFolder(config.state().resolve("work"));
        List<Sink> sinks = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try {
            for (int i = 0; i < sinkFactories.size(); i++) {
                sinks.add(sinkFactories.get(i).create(config.name(), config.sinks().get(i), source.info()));
                names.add(sinkFactories.get(i).type() + (sinkFactories.size() > 1 ? "#" + i : ""));
            }
        } catch (FerryException e) {
            sinks.forEach(Sink::close);
            source.close();
            throw e;
        }
        return new PipelineAssembly(config, sf, source, sinks, names, sinkSettings, sinkFactories, logFactory, logSettings);
    }

    public Source source() {
        return source;
    }

    public List<Sink> sinks() {
        return sinks;
    }

    public List<String> sinkNames() {
        return sinkNames;
    }

    /**
     * The sink a dead-letter entry's sink name stands for: one of {@link #sinkNames()}, or a sink
     * worker's instance for one partition ({@code <sink>.p<partition>},
     * {@link SinkWorkers#partitionSinkName}), which is made here for that partition (its own committed
     * offset, history partition...) and closed with this assembly.
     *
     * @return empty when the pipeline file has no such sink (or the Log no such partition)
     */
    public java.util.Optional<Sink> sinkNamed(String name) throws FerryException {
        int index = sinkNames.indexOf(name);
        if (index >= 0) {
            return java.util.Optional.of(sinks.get(index));
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(.+)\\.p(\\d{1,6})").matcher(name);
        if (!m.matches() || sinkNames.indexOf(m.group(1)) < 0) {
            return java.util.Optional.empty();
        }
        int i = sinkNames.indexOf(m.group(1));
        int partition = Integer.parseInt(m.group(2));
        int partitions = logFactory.partitions(config.log());
        if (partition >= partitions) {
            return java.util.Optional.empty();
        }
        Sink sink = sinkFactories.get(i).createForPartition(config.name(), config.sinks().get(i), source.info(), partition,
                partitions);
        partitionSinks.add(sink);
        return java.util.Optional.of(sink);
    }

    /**
     * The Log as sink workers share it, opened to read only (no fencing, no group joined until
     * {@link dev.ferry.log.SharedLog#follow}); CONFIG for a Log that cannot be shared (the file Log).
     */
    public dev.ferry.log.SharedLog openSharedLog() throws FerryException {
        return logFactory.openShared(config.name(), config.log(), sourceFactory.positionCodec());
    }

    /** The {@code log:} settings of the file Log ({@link LogSettings#OTHER_TYPE} for another type). */
    public LogSettings logSettings() {
        return logSettings;
    }

    /** The {@code log: type:}: {@code file} unless the pipeline file names another. */
    public String logType() {
        return logFactory.type();
    }

    /** The state folder's dead-letter log; readable while another process runs the pipeline. */
    public DeadLetterLog deadLetterLog() {
        return new DeadLetterLog(config.state(), sourceFactory.positionCodec());
    }

    /** The codec of the source's positions, for reading the Log. */
    public dev.ferry.source.PositionCodec positionCodec() {
        return sourceFactory.positionCodec();
    }

    /**
     * Opens the Log (in the state folder, or where its {@code log: type:} keeps it), holding an
     * exclusive lock on the state folder so that two Ferry processes never run the same pipeline at
     * once, and returns the runnable pipeline.
     */
    public Pipeline pipeline(int maxBatchEvents) throws FerryException {
        requireOneLogPartition(config);
        return open(maxBatchEvents, sinks, sinkNames, sinkSettings);
    }

    /**
     * Refuses a Log of several partitions where capture and sinks would run as one pipeline (a batch
     * run, a schedule, a window): its sinks run in sink workers, as a stream.
     */
    public static void requireOneLogPartition(PipelineConfig config) throws FerryException {
        int partitions = logPartitions(config);
        if (partitions > 1) {
            throw FerryException.config(config.log().where("partitions") + " is " + partitions + ": the sinks of a Log of "
                    + "several partitions run in sink workers, each partition on its own, as a stream. Run ferry run -c FILE "
                    + "without --once, a schedule or a window (the capture and one sink worker in one process), or the "
                    + "capture with ferry run -c FILE --role capture and the sinks with one or more ferry run -c FILE "
                    + "--role sinks (on any machines).");
        }
    }

    /**
     * For {@code ferry run --role capture}: the pipeline without sinks, appending to a Log that sink
     * workers share. CONFIG when the Log cannot be shared (the file Log).
     */
    public Pipeline capturePipeline(int maxBatchEvents) throws FerryException {
        logFactory.openShared(config.name(), config.log(), sourceFactory.positionCodec()).close();
        return open(maxBatchEvents, List.of(), List.of(), List.of());
    }

    /**
     * For {@code ferry run --role sinks}: a worker delivering the partitions of the shared Log that its
     * group gives it. Takes no lock on the state folder (several workers may share a machine); CONFIG
     * when the Log cannot be shared or a sink cannot deliver one partition.
     */
    public SinkWorkers sinkWorkers(int maxBatchEvents) throws FerryException {
        List<SinkWorkers.SinkSpec> specs = new ArrayList<>();
        int partitions = logFactory.partitions(config.log());
        for (int i = 0; i < sinkFactories.size(); i++) {
            // a sink that cannot take a partition says so now, not once a partition comes
            sinkFactories.get(i).createForPartition(config.name(), config.sinks().get(i), source.info(), 0, partitions)
                    .close();
            specs.add(new SinkWorkers.SinkSpec(sinkFactories.get(i), config.sinks().get(i), sinkNames.get(i),
                    sinkSettings.get(i)));
        }
        dev.ferry.log.SharedLog shared = logFactory.openShared(config.name(), config.log(), sourceFactory.positionCodec());
        return new SinkWorkers(config.name(), source, shared, specs, maxBatchEvents, deadLetterLog());
    }

    private Pipeline open(int maxBatchEvents, List<Sink> sinks, List<String> sinkNames, List<SinkSettings> sinkSettings)
            throws FerryException {
        Path state = config.state();
        if (!tryLockState()) {
            throw new FerryException(ErrorKind.CONFIG, "Another Ferry process is already running pipeline "
                    + config.name() + " (its state folder " + state + " is locked). Stop it first, or give this "
                    + "pipeline its own name or state folder.");
        }
        try {
            long shortestCommit = sinkSettings.stream().mapToLong(SinkSettings::commitIntervalMillis).min().orElse(0);
            log = logFactory.open(config.name(), config.log(), state, sourceFactory.positionCodec(), shortestCommit);
        } catch (IOException e) {
            throw cannotUseState(e);
        }
        Pipeline pipeline = new Pipeline(config.name(), source, log, sinks, sinkNames, maxBatchEvents,
                logSettings.maxBytes(), logSettings.retainDeliveredMillis());
        pipeline.sinkSettings(sinkSettings);
        pipeline.deadLetters(deadLetterLog());
        return pipeline;
    }

    /**
     * Takes the exclusive lock of the state folder (the file {@code lock} in it, created with the
     * folder when needed) and holds it until {@link #close()}, so that no other Ferry process runs
     * this pipeline meanwhile. Idempotent.
     *
     * @return false when another process holds the lock
     */
    public boolean tryLockState() throws FerryException {
        if (lockChannel != null) {
            return true;
        }
        Path state = config.state();
        try {
            Files.createDirectories(state);
            FileChannel channel = FileChannel.open(state.resolve("lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                channel.close();
                return false;
            }
            lockChannel = channel;
            return true;
        } catch (IOException e) {
            throw cannotUseState(e);
        }
    }

    /**
     * Deletes what Ferry keeps in the state folder (the Log, the work folder, the dead-letter log and the lock file), then the folder itself
     * unless something else is in it: {@code state:} may name a folder that also holds the user's
     * files. For {@code ferry drop}; requires {@link #tryLockState()} to have succeeded, and the Log
     * not to be open.
     *
     * @return what stays in the folder because Ferry did not put it there; empty when the folder is gone
     */
    public List<Path> deleteState() throws FerryException {
        if (lockChannel == null || log != null) {
            throw new IllegalStateException("deleteState needs the state lock and no open Log");
        }
        Path state = config.state();
        try {
            for (String folder : List.of("log", "work", "dlq")) {
                List<Path> paths;
                try (var walk = Files.walk(state.resolve(folder))) {
                    paths = walk.sorted(Comparator.reverseOrder()).toList();
                } catch (NoSuchFileException e) {
                    paths = List.of();
                }
                for (Path p : paths) {
                    Files.delete(p);
                }
            }
            List<Path> others;
            try (var list = Files.list(state)) {
                others = list.filter(p -> !p.getFileName().toString().equals("lock")).sorted().toList();
            }
            if (others.isEmpty()) {
                // deleted while still locked, so that no run starts on a half-deleted folder (POSIX allows it)
                Files.delete(state.resolve("lock"));
                Files.delete(state);
            }
            return others;
        } catch (IOException e) {
            throw cannotUseState(e);
        }
    }

    private FerryException cannotUseState(IOException e) {
        return new FerryException(ErrorKind.CONFIG, "Cannot use the state folder " + config.state() + ": "
                + e.getMessage() + ". Check that it is writable, or set state: in the pipeline file to another folder.", e);
    }

    @Override
    public void close() {
        sinks.forEach(Sink::close);
        partitionSinks.forEach(Sink::close);
        source.close();
        try {
            if (log != null) {
                log.close();
            }
            if (lockChannel != null) {
                lockChannel.close();
            }
        } catch (IOException e) {
            // closing after the work is done; nothing left to protect
        }
    }

    private static SourceFactory sourceFactory(ComponentConfig c) throws FerryException {
        TreeMap<String, SourceFactory> all = new TreeMap<>();
        for (SourceFactory f : ServiceLoader.load(SourceFactory.class)) {
            all.put(f.type(), f);
        }
        SourceFactory f = all.get(c.type());
        if (f == null) {
            throw FerryException.config(c.where("type") + " is \"" + c.type() + "\", which this Ferry does not know. "
                    + "Source types available: " + String.join(", ", all.keySet()) + ".");
        }
        return f;
    }

    /** How many partitions the pipeline's Log has (1 for the file Log). */
    public static int logPartitions(PipelineConfig config) throws FerryException {
        return logFactory(config.log()).partitions(config.log());
    }

    /** The factory of the section's {@code type:}; {@code file} for no section or no type. */
    private static LogFactory logFactory(ComponentConfig c) throws FerryException {
        String type = c == null || !c.has("type") ? FileLogFactory.TYPE : c.type();
        TreeMap<String, LogFactory> all = new TreeMap<>();
        for (LogFactory f : ServiceLoader.load(LogFactory.class)) {
            all.put(f.type(), f);
        }
        LogFactory f = all.get(type);
        if (f == null) {
            throw FerryException.config(c.where("type") + " is \"" + type + "\", which this Ferry does not know. "
                    + "Log types available: " + String.join(", ", all.keySet()) + ".");
        }
        return f;
    }

    /**
     * Refuses a window run (CONFIG) unless every sink keeps window partitions: any other sink would take
     * the window's truncate for the whole table's and keep only the window's rows.
     *
     * @param what how the user asked for windows, for the message ({@code --window}, {@code schedule.window})
     */
    public static void requireWindowPartitions(PipelineConfig config, String what) throws FerryException {
        List<String> refusing = new ArrayList<>();
        List<String> keeping = new ArrayList<>();
        for (ComponentConfig sc : config.sinks()) {
            SinkFactory f = sinkFactory(sc);
            (f.keepsWindowPartitions() ? keeping : refusing).add(f.type());
        }
        if (!refusing.isEmpty()) {
            throw FerryException.config(what + " extracts one window into sink partitions, which the " + String.join(", ",
                    refusing) + " sink" + (refusing.size() > 1 ? "s do" : " does") + " not keep: the window's rows would "
                    + "replace the whole table there. Run without a window (an incremental table brings what changed "
                    + "since the last run), or write windows to a sink that keeps partitions (jsonl).");
        }
    }

    private static SinkFactory sinkFactory(ComponentConfig c) throws FerryException {
        TreeMap<String, SinkFactory> all = new TreeMap<>();
        for (SinkFactory f : ServiceLoader.load(SinkFactory.class)) {
            all.put(f.type(), f);
        }
        SinkFactory f = all.get(c.type());
        if (f == null) {
            throw FerryException.config(c.where("type") + " is \"" + c.type() + "\", which this Ferry does not know. "
                    + "Sink types available: " + String.join(", ", all.keySet()) + ".");
        }
        return f;
    }
}
