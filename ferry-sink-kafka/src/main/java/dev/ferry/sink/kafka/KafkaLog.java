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
 *   <li><b>Ferry's offsets stay Ferry's.</b> The Log's contract numbers events 0, 1, 2... without gaps,
 *   and sinks rely on it ({@code write(events, last)} covers {@code last - size + 1 .. last}). Kafka's
 *   offsets have gaps (transaction markers, aborted records), so each record carries the Log offset
 *   of its first event in the header {@value #FIRST}, and the number of its events in
 *   {@value #COUNT}. A record holds a run of events in the file Log's binary form
 *   ({@link EventBytes#encodeAll}), at most about {@link #RECORD_BYTES}.</li>
 *   <li><b>One append, one transaction.</b> The records of an append are one Kafka transaction; the
 *   last carries the source position the append reaches ({@value #POSITION}); an append without
 *   events is one record of no events, carrying the position. {@link #append} returns once the
 *   transaction committed, so what the pipeline acknowledges to the source is on the brokers, as
 *   {@code acks=all} and the topic's {@code min.insync.replicas} have it.</li>
 *   <li><b>Opening fences.</b> The producer's stable {@code transactional.id} fences any earlier
 *   capture of this pipeline (a Ferry killed inside an append) and makes the coordinator abort its
 *   open transaction. Only then is the tail read, with {@code read_committed}: the last committed
 *   record gives the next offset and the last position, exactly.</li>
 *   <li><b>Reading from an offset</b> searches the topic by halving for the record that holds it
 *   (Ferry's offsets grow with Kafka's among committed records), then reads forward.</li>
 *   <li><b>Limits of this step.</b> One partition, written and read by one Ferry process (the
 *   capture and its delivery threads); retention is the topic's ({@code retention.ms}), not
 *   Ferry's: {@link #deleteBefore} does nothing, {@link #sizeBytes} is 0 (unknown).</li>
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

    /** The {@code log:} section; see {@link KafkaLogFactory} for each key. */
    record Settings(String pipeline, String bootstrapServers, String topic, String transactionalId,
                    Optional<Short> replicationFactor, Map<String, String> topicConfig, Map<String, String> properties) {
    }

    private final Settings settings;
    private final PositionCodec positions;
    private final TopicPartition partition;
    private final boolean createdNow;
    private final Object endChanged = new Object();
    private Producer<byte[], byte[]> producer;
    /** Set once another producer of the transactional id fenced this one: appends fail from then on. */
    private boolean fencedByAnother;
    private volatile long next;
    private volatile long start;
    private volatile Optional<Position> lastPosition;

    private KafkaLog(Settings settings, PositionCodec positions, boolean createdNow) {
        this.settings = settings;
        this.positions = positions;
        this.partition = new TopicPartition(settings.topic(), 0);
        this.createdNow = createdNow;
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
            admin.createTopics(List.of(new NewTopic(settings.topic(), Optional.of(1), settings.replicationFactor())
                    .configs(config))).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            LOG.info("Kafka log: created topic {}", settings.topic());
            return true;
        } catch (Exception e) {
            if (KafkaFailures.unwrap(e) instanceof TopicExistsException) {
                return false;
            }
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw KafkaFailures.classify(e, "creating the Log's topic " + settings.topic(), settings.bootstrapServers(), null);
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
            Tail tail = readTail(consumer);
            next = tail.next;
            start = tail.start;
            lastPosition = tail.position;
        } catch (RuntimeException e) {
            abandonProducer(); // the tail is unknown: nothing may be appended until a fencing reads it
            throw KafkaFailures.classify(e, "reading the end of the Log's topic " + settings.topic(),
                    settings.bootstrapServers(), null);
        }
        LOG.info("Kafka log {}: transactions ready; offsets {}..{}, last position {}", settings.topic(), start, next,
                lastPosition.map(Position::display).orElse("none"));
    }

    private record Tail(long start, long next, Optional<Position> position) {
    }

    /**
     * The first and next offsets and the last position, from the committed records at both ends of
     * the partition. The end is searched backwards in growing windows, since aborted records and
     * transaction markers may hide the last committed record.
     */
    private Tail readTail(KafkaConsumer<byte[], byte[]> consumer) {
        consumer.assign(List.of(partition));
        long begin = consumer.beginningOffsets(List.of(partition), TIMEOUT).get(partition);
        long end = consumer.endOffsets(List.of(partition), TIMEOUT).get(partition); // the last stable offset
        ConsumerRecord<byte[], byte[]> first = KafkaLogReader.firstAtOrAfter(consumer, partition, begin, end);
        if (first == null) {
            return new Tail(0, 0, Optional.empty());
        }
        for (long window = 16; ; window *= 4) {
            long from = Math.max(begin, end - window);
            ConsumerRecord<byte[], byte[]> last = null;
            consumer.seek(partition, from);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (consumer.position(partition) < end) {
                if (System.nanoTime() - deadline > 0) {
                    // a partial read would give a tail too early: offsets the topic holds would be reused
                    throw new org.apache.kafka.common.errors.TimeoutException("reading the Log's tail of " + partition
                            + " did not reach offset " + end + " within " + TIMEOUT.toSeconds() + " s");
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.offset() < end && header(r, POSITION) != null) {
                        last = r;
                    }
                }
            }
            if (last != null || from == begin) {
                long nextOffset = last == null ? longHeader(first, FIRST) : longHeader(last, FIRST) + intHeader(last, COUNT);
                Optional<Position> position = last == null ? Optional.empty()
                        : Optional.of(positions.decode(header(last, POSITION)));
                return new Tail(longHeader(first, FIRST), nextOffset, position);
            }
        }
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
        long first = next;
        long deadline = System.nanoTime() + APPEND_RETRY.toNanos();
        long backoffMillis = 200;
        while (true) {
            try {
                if (producer == null) {
                    fence();
                    if (appended(first, events.size(), position)) {
                        break; // the failed attempt had committed
                    }
                    if (next != first) {
                        throw new IOException("The Kafka log " + settings.topic() + " ends at offset " + next + " after "
                                + "fencing, but this capture appended up to " + first + ": another process wrote to it. "
                                + "Run one capture per pipeline.");
                    }
                }
                send(events, position, first);
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
                LOG.warn("{} Retrying in {} ms; the source is not acknowledged meanwhile.", e.getMessage(), backoffMillis);
                try {
                    Thread.sleep(backoffMillis);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while retrying an append to the Kafka log", ie);
                }
                backoffMillis = Math.min(backoffMillis * 2, 5_000);
            }
        }
        synchronized (endChanged) {
            next = first + events.size();
            lastPosition = Optional.of(position);
            endChanged.notifyAll();
        }
        return Offset.of(next);
    }

    /**
     * Whether the tail read by the last fencing ends with this append: its events and its position.
     * (An append without events whose position the Log already held counts as there: writing it
     * again would add nothing.)
     */
    private boolean appended(long first, int count, Position position) {
        return next == first + count && lastPosition.isPresent()
                && java.util.Arrays.equals(positions.encode(lastPosition.get()), positions.encode(position));
    }

    /** One attempt: the append's records in one transaction; on failure the producer is abandoned. */
    private void send(List<ChangeEvent> events, Position position, long first) throws FerryException {
        try {
            producer.beginTransaction();
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
                producer.send(new ProducerRecord<>(settings.topic(), 0, null, null, value, headers));
                at += n;
            } while (at < events.size());
            CrashPoints.reach("kafka-log.before-commit");
            producer.commitTransaction();
        } catch (RuntimeException e) {
            abandonProducer();
            throw KafkaFailures.classify(e, "appending offsets " + first + ".." + (first + events.size() - 1)
                    + " to the Log's topic " + settings.topic(), settings.bootstrapServers(), null);
        }
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

    @Override
    public Offset end() {
        return Offset.of(next);
    }

    @Override
    public Offset start() {
        return Offset.of(start);
    }

    @Override
    public LogReader readFrom(Offset first) {
        if (first.value() < start) {
            throw new IllegalArgumentException("offset " + first + " is no longer in the Kafka log " + settings.topic()
                    + ", which starts at " + start + " (the topic's retention deleted the older records)");
        }
        return new KafkaLogReader(consumer(settings, "reader"), partition, positions, first.value());
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
            long end = consumer.endOffsets(List.of(partition), TIMEOUT).get(partition);
            admin.deleteRecords(Map.of(partition, RecordsToDelete.beforeOffset(end))).all()
                    .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            FerryException f = KafkaFailures.classify(e, "deleting the records of the Log's topic " + settings.topic(),
                    settings.bootstrapServers(), null);
            throw new IOException(f.getMessage(), f);
        }
        synchronized (endChanged) {
            next = 0;
            start = 0;
            lastPosition = Optional.empty();
        }
    }

    @Override
    public boolean awaitEnd(Offset offset, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        synchronized (endChanged) {
            while (next <= offset.value()) {
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

    private static Map<String, Object> adminProperties(Settings settings) {
        Map<String, Object> props = new HashMap<>();
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "ferry-" + settings.pipeline() + "-log-admin");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        KafkaClients.passThrough(settings.properties(), AdminClientConfig.configNames(), props);
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        return props;
    }

}
