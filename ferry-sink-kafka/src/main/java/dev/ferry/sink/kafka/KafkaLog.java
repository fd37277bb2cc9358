package dev.ferry.sink.kafka;

import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.log.CrashPoints;
import dev.ferry.log.EventBytes;
import dev.ferry.log.Log;
import dev.ferry.log.LogReader;
import dev.ferry.log.Offset;
import dev.ferry.source.Position;
import dev.ferry.source.PositionCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Log on a Kafka topic ({@code log: {type: kafka}}): capture appends with a transactional
 * producer, readers consume with {@code read_committed}.
 *
 * <h2>Design notes</h2>
 * <ul>
 *   <li><b>Partitions.</b> The topic has {@code partitions:} partitions (default 1). Each partition is a
 *   Log in the sense of the {@link Log} contract, numbering its own events 0, 1, 2... without gaps;
 *   {@link LogPartitioner} routes each event by its table and key, so every change of a row stays in
 *   one partition, in source order, and a truncate goes to all of them. Sink workers read and commit
 *   per partition ({@link KafkaLogPartition}, {@link KafkaLogGroup}).</li>
 *   <li><b>Ferry's offsets stay Ferry's.</b> Sinks rely on gapless offsets ({@code write(events, last)}
 *   covers {@code last - size + 1 .. last}). Kafka's offsets have gaps (transaction markers, aborted
 *   records), so each record carries the Log offset of its first event in the header {@value #FIRST},
 *   and the number of its events in {@value #COUNT}. A record holds a run of events in the file Log's
 *   binary form ({@link EventBytes#encodeAll}), at most about {@link #RECORD_BYTES}.</li>
 *   <li><b>One append, one transaction.</b> The records of an append, in every partition, are one Kafka
 *   transaction, so an append is atomic across partitions. Every partition gets at least one record
 *   (of no events when the append has none for it), and the last of each carries the source position
 *   the append reaches ({@value #POSITION}): so each partition's tail knows the Log's last position,
 *   and a sink worker reading one partition knows when the snapshot has finished. {@link #append}
 *   returns once the transaction committed, so what the pipeline acknowledges to the source is on the
 *   brokers, as {@code acks=all} and the topic's {@code min.insync.replicas} have it.</li>
 *   <li><b>Opening fences.</b> The producer's stable {@code transactional.id} fences any earlier
 *   capture of this pipeline (a Ferry killed inside an append) and makes the coordinator abort its
 *   open transaction. Only then are the tails read, with {@code read_committed}: each partition's last
 *   committed record gives its next offset, and the last position, exactly.</li>
 *   <li><b>Reading from an offset</b> searches the partition by halving for the record that holds it
 *   (Ferry's offsets grow with Kafka's among committed records), then reads forward.</li>
 *   <li><b>Limits.</b> Retention is the topic's ({@code retention.ms}), not Ferry's:
 *   {@link #deleteBefore} does nothing, {@link #sizeBytes} is 0 (unknown). With several partitions
 *   this Log is only appended to here; {@link #readFrom} serves a Log of one partition.</li>
 * </ul>
 */
final class KafkaLog implements Log {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaLog.class);
    static final String FIRST = "ferry.first";
    static final String COUNT = "ferry.count";
    static final String POSITION = "ferry.position";
    /** The size a record's events are cut at: well under the producer's and topic's 8 MiB. */
    static final int RECORD_BYTES = 512 * 1024;
    static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** How long an append keeps trying while the brokers cannot be reached. */
    static final Duration APPEND_RETRY = Duration.ofMinutes(5);
    /** How long an append after a stop that came outside an outage still retries. */
    static final Duration STOPPING_RETRY = Duration.ofSeconds(10);

    /** The {@code log:} section; see {@link KafkaLogFactory} for each key. */
    record Settings(String pipeline, String bootstrapServers, String topic, int partitions, String transactionalId,
                    Optional<Short> replicationFactor, Map<String, String> topicConfig, Map<String, String> properties) {
    }

    private final Settings settings;
    private final PositionCodec positions;
    private final List<TopicPartition> partitions;
    private final LogPartitioner partitioner;
    private final boolean createdNow;
    private final Object endChanged = new Object();
    private Producer<byte[], byte[]> producer;
    /** Set by {@link #stopRetrying}: an append retrying for the brokers gives up. Guarded by {@link #retryWait}. */
    private boolean stopRetrying;
    /** Whether an append is retrying a failure (an outage) now. Guarded by {@link #retryWait}. */
    private boolean retrying;
    /**
     * Set by {@link #stopRetrying} outside an outage: the {@code System.nanoTime()} after which an
     * append stops retrying; 0 while not stopping. Guarded by {@link #retryWait}.
     */
    private long stopDeadline;
    private final Object retryWait = new Object();
    /** Set once another producer of the transactional id fenced this one: appends fail from then on. */
    private boolean fencedByAnother;
    /** Per partition, the Log offset its next event gets; replaced, never changed in place. */
    private volatile long[] next;
    /** Per partition, the first Log offset it still holds. */
    private volatile long[] start;
    private volatile Optional<Position> lastPosition;

    private KafkaLog(Settings settings, PositionCodec positions, boolean createdNow) {
        this.settings = settings;
        this.positions = positions;
        this.partitions = partitions(settings);
        this.partitioner = new LogPartitioner(settings.partitions());
        this.createdNow = createdNow;
    }

    static List<TopicPartition> partitions(Settings settings) {
        List<TopicPartition> all = new java.util.ArrayList<>();
        for (int p = 0; p < settings.partitions(); p++) {
            all.add(new TopicPartition(settings.topic(), p));
        }
        return List.copyOf(all);
    }

    /** Creates the topic when there is none, fences earlier captures, and reads the tail. */
    static KafkaLog open(Settings settings, PositionCodec positions) throws FerryException {
        boolean created;
        try (Admin admin = Admin.create(adminProperties(settings))) {
            created = createTopic(settings, admin);
        }
        KafkaLog log = new KafkaLog(settings, positions, created);
        log.fence();
        return log;
    }

    private static boolean createTopic(Settings settings, Admin admin) throws FerryException {
        Map<String, String> config = new HashMap<>(Map.of("max.message.bytes", String.valueOf(MAX_MESSAGE_BYTES)));
        config.putAll(settings.topicConfig());
        try {
            admin.createTopics(List.of(new NewTopic(settings.topic(), Optional.of(settings.partitions()),
                    settings.replicationFactor()).configs(config))).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            LOG.info("Kafka log: created topic {} with {} partition(s)", settings.topic(), settings.partitions());
            return true;
        } catch (Exception e) {
            if (KafkaFailures.unwrap(e) instanceof TopicExistsException) {
                requirePartitions(settings, admin);
                return false;
            }
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw KafkaFailures.classify(e, "creating the Log's topic " + settings.topic(), settings.bootstrapServers(), null);
        }
    }

    /**
     * Refuses a topic whose partition count differs from {@code partitions:}: every row's changes are
     * routed by the count, so a different one would split a key's history between two partitions.
     */
    static void requirePartitions(Settings settings, Admin admin) throws FerryException {
        java.util.OptionalInt found = partitionCount(settings, admin);
        int actual = found.orElseThrow(() -> FerryException.config("The Log's topic " + settings.topic()
                + " does not exist; the capture creates it (ferry run, or ferry run --role capture)."));
        if (actual != settings.partitions()) {
            throw FerryException.config("log.partitions is " + settings.partitions() + ", but the Log's topic "
                    + settings.topic() + " has " + actual + " partition(s). Set log.partitions: " + actual + "; a Log "
                    + "cannot change its partition count (each row's changes are routed by it): to change it, start "
                    + "over on a new topic (log.topic) with a new snapshot.");
        }
    }

    /** The topic's partition count; empty when there is no such topic. */
    static java.util.OptionalInt partitionCount(Settings settings, Admin admin) throws FerryException {
        try {
            return java.util.OptionalInt.of(admin.describeTopics(List.of(settings.topic())).allTopicNames()
                    .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(settings.topic()).partitions().size());
        } catch (Exception e) {
            if (KafkaFailures.unwrap(e) instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) {
                return java.util.OptionalInt.empty();
            }
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw KafkaFailures.classify(e, "describing the Log's topic " + settings.topic(), settings.bootstrapServers(), null);
        }
    }

    /** A new transactional producer, which fences every earlier one; then the tail, read exactly. */
    private void fence() throws FerryException {
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "ferry-" + settings.pipeline() + "-log");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, MAX_MESSAGE_BYTES);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
        KafkaClients.passThrough(settings.properties(), ProducerConfig.configNames(), props);
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, settings.transactionalId());
        Producer<byte[], byte[]> p;
        try {
            p = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
        } catch (RuntimeException e) {
            throw KafkaFailures.classify(e, "creating the Log's producer", settings.bootstrapServers(), null);
        }
        try {
            p.initTransactions();
        } catch (RuntimeException e) {
            p.close(Duration.ZERO);
            throw KafkaFailures.classify(e, "starting the Log's transactions (transactional_id "
                    + settings.transactionalId() + ")", settings.bootstrapServers(), null);
        }
        producer = p;
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(settings, "tail")) {
            long[] nexts = new long[partitions.size()];
            long[] starts = new long[partitions.size()];
            Optional<Position> last = Optional.empty();
            for (int i = 0; i < partitions.size(); i++) {
                LogTail tail = LogTail.read(consumer, partitions.get(i), positions);
                nexts[i] = tail.next();
                starts[i] = tail.start();
                // every append reaches every partition, so their positions agree; a reset cut short
                // (records deleted from some partitions only) leaves the newest where it left any
                if (tail.position().isPresent() && (last.isEmpty() || tail.position().get().compareTo(last.get()) > 0)) {
                    last = tail.position();
                }
            }
            next = nexts;
            start = starts;
            lastPosition = last;
        } catch (RuntimeException e) {
            abandonProducer(); // the tail is unknown: nothing may be appended until a fencing reads it
            throw KafkaFailures.classify(e, "reading the end of the Log's topic " + settings.topic(),
                    settings.bootstrapServers(), null);
        }
        LOG.info("Kafka log {}: transactions ready; offsets {}..{}, last position {}", settings.topic(),
                java.util.Arrays.toString(start), java.util.Arrays.toString(next),
                lastPosition.map(Position::display).orElse("none"));
    }

    /**
     * Appends in one transaction. When the brokers cannot be reached it retries for up to
     * {@link #APPEND_RETRY}, each time after fencing again, which settles the transaction the failure
     * left (a commit that timed out may have happened): the tail read afterwards says whether this
     * append is there, and it is sent again only if it is not. A producer fenced by another capture
     * of the pipeline is not retried: two captures would fence each other in turn.
     */
    @Override
    public synchronized Offset append(List<ChangeEvent> events, Position position) throws IOException {
        if (fencedByAnother) {
            throw new IOException("Another capture of pipeline " + settings.pipeline() + " fenced this one (transactional_id "
                    + settings.transactionalId() + "); this Ferry stops. Run one capture per pipeline.");
        }
        List<List<ChangeEvent>> routed = partitioner.route(events);
        long[] first = next.clone();
        long deadline = System.nanoTime() + APPEND_RETRY.toNanos();
        long backoffMillis = 200;
        while (true) {
            try {
                if (producer == null) {
                    fence();
                    if (appended(first, routed, position)) {
                        break; // the failed attempt had committed
                    }
                    if (!java.util.Arrays.equals(next, first)) {
                        throw new IOException("The Kafka log " + settings.topic() + " ends at offsets "
                                + java.util.Arrays.toString(next) + " after fencing, but this capture appended up to "
                                + java.util.Arrays.toString(first) + ": another process wrote to it. Run one capture per "
                                + "pipeline.");
                    }
                }
                send(routed, position, first);
                break;
            } catch (FerryException e) {
                Throwable cause = KafkaFailures.unwrap(e.getCause() == null ? e : e.getCause());
                // another capture started (or the broker ended a transaction older than its timeout)
                boolean fenced = cause instanceof org.apache.kafka.common.errors.ProducerFencedException
                        || cause instanceof org.apache.kafka.common.errors.InvalidProducerEpochException;
                fencedByAnother = fenced;
                if (e.kind() != dev.ferry.error.ErrorKind.CONNECTIVITY || fenced || System.nanoTime() > deadline) {
                    throw new IOException(e.getMessage(), e);
                }
                if (!awaitRetry(backoffMillis, e)) {
                    throw new dev.ferry.log.AppendStoppedException(e.getMessage() + " Stopping: the append is not "
                            + "retried.", e);
                }
                backoffMillis = Math.min(backoffMillis * 2, 5_000);
            }
        }
        synchronized (retryWait) {
            retrying = false; // the outage, if any, is over
        }
        synchronized (endChanged) {
            long[] after = first.clone();
            for (int p = 0; p < after.length; p++) {
                after[p] += routed.get(p).size();
            }
            next = after;
            lastPosition = Optional.of(position);
            endChanged.notifyAll();
        }
        return end();
    }

    /**
     * Waits {@code millis} before the next attempt of a failed append, unless {@link #stopRetrying} was
     * called (before or meanwhile).
     *
     * @return false when asked to stop retrying
     */
    private boolean awaitRetry(long millis, FerryException failure) throws IOException {
        synchronized (retryWait) {
            if (stopRetrying) {
                return false;
            }
            if (stopDeadline != 0 && System.nanoTime() + millis * 1_000_000 > stopDeadline) {
                stopRetrying = true; // stopping: the short retry after a stop is used up
                return false;
            }
            retrying = true;
            LOG.warn("{} Retrying in {} ms; the source is not acknowledged meanwhile.", failure.getMessage(), millis);
            long until = System.nanoTime() + millis * 1_000_000;
            try {
                for (long left = millis; left > 0 && !stopRetrying; left = (until - System.nanoTime()) / 1_000_000) {
                    retryWait.wait(left);
                }
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while retrying an append to the Kafka log", ie);
            }
            return !stopRetrying;
        }
    }

    /**
     * Makes an append retrying for the brokers give up at its next attempt (at once when it is waiting
     * between attempts), and later appends fail after one attempt. An attempt itself is bounded by the
     * producer's {@code max.block.ms} and {@code delivery.timeout.ms}.
     */
    @Override
    public void stopRetrying() {
        synchronized (retryWait) {
            if (retrying) {
                stopRetrying = true; // the stop came during an outage: give up now
                retryWait.notifyAll();
            } else if (stopDeadline == 0) {
                // no outage: the last appends (capture's final one) keep a short retry for a passing error
                stopDeadline = Math.max(1, System.nanoTime() + STOPPING_RETRY.toNanos());
            }
        }
    }

    /**
     * Whether the tail read by the last fencing ends with this append: its events and its position.
     * (An append without events whose position the Log already held counts as there: writing it
     * again would add nothing.)
     */
    private boolean appended(long[] first, List<List<ChangeEvent>> routed, Position position) {
        for (int p = 0; p < first.length; p++) {
            if (next[p] != first[p] + routed.get(p).size()) {
                return false;
            }
        }
        return lastPosition.isPresent()
                && java.util.Arrays.equals(positions.encode(lastPosition.get()), positions.encode(position));
    }

    /**
     * One attempt: the append's records in one transaction, at least one in every partition (the last
     * of each carries the position); on failure the producer is abandoned.
     */
    private void send(List<List<ChangeEvent>> routed, Position position, long[] first) throws FerryException {
        try {
            producer.beginTransaction();
            for (int p = 0; p < routed.size(); p++) {
                sendPartition(p, routed.get(p), position, first[p]);
            }
            CrashPoints.reach("kafka-log.before-commit");
            producer.commitTransaction();
        } catch (RuntimeException e) {
            abandonProducer();
            throw KafkaFailures.classify(e, "appending offsets " + java.util.Arrays.toString(first) + " on of "
                    + routed.stream().mapToInt(List::size).sum() + " events to the Log's topic " + settings.topic(),
                    settings.bootstrapServers(), null);
        }
    }

    /** The records of one partition's part of an append (one of no events when it has none). */
    private void sendPartition(int partition, List<ChangeEvent> events, Position position, long first) {
        int at = 0;
        do {
            int n = Math.min(events.size() - at, 1024);
            byte[] value = EventBytes.encodeAll(events.subList(at, at + n), positions);
            while (value.length > RECORD_BYTES && n > 1) {
                n /= 2;
                value = EventBytes.encodeAll(events.subList(at, at + n), positions);
            }
            RecordHeaders headers = new RecordHeaders();
            headers.add(FIRST, ByteBuffer.allocate(8).putLong(0, first + at).array());
            headers.add(COUNT, ByteBuffer.allocate(4).putInt(0, n).array());
            if (at + n == events.size()) {
                headers.add(POSITION, positions.encode(position));
            }
            producer.send(new ProducerRecord<>(settings.topic(), partition, null, null, value, headers));
            at += n;
        } while (at < events.size());
    }

    /** Appends are durable once {@link #append} returns. */
    @Override
    public void sync() {
    }

    @Override
    public void syncIfDue() {
    }

    @Override
    public boolean createdNow() {
        return createdNow;
    }

    @Override
    public Optional<Position> lastPosition() {
        return lastPosition;
    }

    /** With one partition its end; with several the sum of theirs (the number of events appended, for stats). */
    @Override
    public Offset end() {
        return Offset.of(java.util.Arrays.stream(next).sum());
    }

    @Override
    public Offset start() {
        return Offset.of(java.util.Arrays.stream(start).sum());
    }

    /** A reader of the Log of one partition; a Log of several is read per partition, by sink workers. */
    @Override
    public LogReader readFrom(Offset first) {
        if (partitions.size() > 1) {
            throw new IllegalStateException("a Kafka log of " + partitions.size() + " partitions is read per partition");
        }
        if (first.value() < start[0]) {
            throw new IllegalArgumentException("offset " + first + " is no longer in the Kafka log " + settings.topic()
                    + ", which starts at " + start[0] + " (the topic's retention deleted the older records)");
        }
        return new KafkaLogReader(consumer(settings, "reader"), partitions.get(0), positions, first.value());
    }

    /** Kafka's retention ({@code retention.ms}, {@code retention.bytes} of the topic) deletes records, not Ferry. */
    @Override
    public void deleteBefore(Offset oldestStillNeeded, long minAgeMillis) {
    }

    /** Unknown: the brokers hold the records. */
    @Override
    public long sizeBytes() {
        return 0;
    }

    /** Deletes every record of the topic (Admin deleteRecords); offsets start again at 0. */
    @Override
    public synchronized void reset() throws IOException {
        try (Admin admin = Admin.create(adminProperties(settings));
             KafkaConsumer<byte[], byte[]> consumer = consumer(settings, "reset")) {
            Map<TopicPartition, RecordsToDelete> deletes = new HashMap<>();
            consumer.endOffsets(partitions, TIMEOUT).forEach((tp, end) -> deletes.put(tp, RecordsToDelete.beforeOffset(end)));
            admin.deleteRecords(deletes).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            FerryException f = KafkaFailures.classify(e, "deleting the records of the Log's topic " + settings.topic(),
                    settings.bootstrapServers(), null);
            throw new IOException(f.getMessage(), f);
        }
        synchronized (endChanged) {
            next = new long[partitions.size()];
            start = new long[partitions.size()];
            lastPosition = Optional.empty();
        }
    }

    @Override
    public boolean awaitEnd(Offset offset, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        synchronized (endChanged) {
            while (end().value() <= offset.value()) {
                long wait = deadline - System.currentTimeMillis();
                if (wait <= 0) {
                    return false;
                }
                endChanged.wait(wait);
            }
            return true;
        }
    }

    /** Drops the producer without committing: its open transaction is aborted when the next one fences it. */
    private void abandonProducer() {
        if (producer != null) {
            KafkaClients.close(producer, Duration.ZERO);
            producer = null;
        }
    }

    @Override
    public synchronized void close() {
        if (producer != null) {
            KafkaClients.close(producer, Duration.ofSeconds(5));
            producer = null;
        }
    }

    static byte[] header(ConsumerRecord<byte[], byte[]> r, String key) {
        Header h = r.headers().lastHeader(key);
        return h == null ? null : h.value();
    }

    static long longHeader(ConsumerRecord<byte[], byte[]> r, String key) {
        return ByteBuffer.wrap(header(r, key)).getLong();
    }

    static int intHeader(ConsumerRecord<byte[], byte[]> r, String key) {
        return ByteBuffer.wrap(header(r, key)).getInt();
    }

    /** A read_committed consumer without a group (partitions are assigned), with the client properties. */
    static KafkaConsumer<byte[], byte[]> consumer(Settings settings, String role) {
        Map<String, Object> props = new HashMap<>();
        KafkaClients.passThrough(settings.properties(), ConsumerConfig.configNames(), props);
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "ferry-" + settings.pipeline() + "-log-" + role);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false); // the capture creates it, with its partitions
        // a reset (a snapshot taken again) deletes records a reader may be positioned before: it goes on
        // from the first left, where the events after the reset are ("latest" would skip them); a gap
        // that retention made is still caught by the reader's offset check
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // memory: at most this many records (each at most ~RECORD_BYTES of events) decoded at once
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 16);
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, MAX_MESSAGE_BYTES);
        props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, MAX_MESSAGE_BYTES); // the client's default prefetches 50 MB
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    static Map<String, Object> adminProperties(Settings settings) {
        Map<String, Object> props = new HashMap<>();
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "ferry-" + settings.pipeline() + "-log-admin");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        KafkaClients.passThrough(settings.properties(), AdminClientConfig.configNames(), props);
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        return props;
    }

}
