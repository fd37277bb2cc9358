package dev.ferry.sink.kafka;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * Turns what the Kafka client throws into a {@link FerryException} of the right kind, at the place
 * it is thrown: a broker that cannot be reached or a transaction that had to be abandoned is
 * CONNECTIVITY (the pipeline retries the batch, and the sink fences and re-reads its offset first);
 * a record the broker can never take is DATA; credentials and ACLs are PREREQUISITE; settings the
 * broker rejects are CONFIG.
 */
final class KafkaFailures {
    private KafkaFailures() {
    }

    /**
     * Classifies a failure.
     *
     * @param doing what the sink was doing, for the message ("writing to topic shop.public.orders")
     * @param where the brokers, {@code host:port,...}
     * @param table the table of the record that failed (and its topic and size, where known), or null when unknown
     */
    static FerryException classify(Throwable thrown, String doing, String where, String table) {
        Throwable t = unwrap(thrown);
        String detail = t.getClass().getSimpleName() + ": " + t.getMessage();
        if (t instanceof AuthenticationException) {
            return new FerryException(ErrorKind.PREREQUISITE, "Kafka at " + where + " rejected Ferry's credentials while "
                    + doing + " (" + detail + "). Check the sink's properties: security.protocol, sasl.mechanism, "
                    + "sasl.jaas.config and the ssl.* settings.", t);
        }
        if (t instanceof AuthorizationException) {
            return new FerryException(ErrorKind.PREREQUISITE, "Kafka at " + where + " refused an operation while " + doing
                    + " (" + detail + "). Ferry's principal needs Write and Describe on the topics, Create on them "
                    + "(or create_topics: false with the topics made beforehand), Write and Describe on its "
                    + "transactional_id, and Read on its consumer group of the same name.", t);
        }
        if (t instanceof RecordTooLargeException || t instanceof RecordBatchTooLargeException
                || t instanceof SerializationException || t instanceof InvalidRecordException) {
            return new FerryException(ErrorKind.DATA, "Kafka at " + where + " cannot take a record"
                    + (table != null ? " of table " + table : "") + " while " + doing + ": " + detail + ". Raise the "
                    + "topic's max.message.bytes (a topic without one takes the broker's message.max.bytes); where "
                    + "the sink's properties: set max.request.size or buffer.memory, raise them too. Or leave such "
                    + "changes to the dead-letter log (record_errors: dlq); the batch's transaction was aborted.", t);
        }
        if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
            return new FerryException(ErrorKind.CONNECTIVITY, "Kafka fenced this sink's producer while " + doing + " ("
                    + detail + "): another producer with the same transactional_id started, or the broker aborted a "
                    + "transaction that outlived transaction_timeout_ms. The batch was not committed; the sink re-reads "
                    + "its committed offset and writes it again. If another Ferry runs this pipeline, stop it.", t);
        }
        if (t instanceof InvalidTopicException || t instanceof InvalidReplicationFactorException
                || t instanceof InvalidPartitionsException || t instanceof InvalidConfigurationException
                || t instanceof PolicyViolationException || t instanceof ConfigException) {
            return new FerryException(ErrorKind.CONFIG, "Kafka at " + where + " rejected the sink's settings while "
                    + doing + ": " + detail + ". Check topic_prefix, partitions, replication_factor, topic_config "
                    + "and properties.", t);
        }
        if (t instanceof UnsupportedVersionException) {
            return new FerryException(ErrorKind.PREREQUISITE, "Kafka at " + where + " does not support what the sink "
                    + "needs while " + doing + " (" + detail + "). The Kafka sink needs transactions (brokers 2.5 or "
                    + "newer).", t);
        }
        if (t instanceof RetriableException || t instanceof TransactionAbortedException
                || t instanceof org.apache.kafka.common.errors.TimeoutException
                || t instanceof org.apache.kafka.common.errors.DisconnectException) {
            return new FerryException(ErrorKind.CONNECTIVITY, "Cannot reach Kafka at " + where + " while " + doing
                    + " (" + detail + "). Check that the brokers run and that bootstrap_servers and the security "
                    + "properties are right; the batch is written again once the brokers answer.", t);
        }
        if (t instanceof KafkaException) {
            // an abortable state the client does not classify further: retried after fencing and re-reading
            return new FerryException(ErrorKind.CONNECTIVITY, "Kafka at " + where + " failed while " + doing + " ("
                    + detail + "). The transaction was abandoned; the batch is written again.", t);
        }
        return new FerryException(ErrorKind.INTERNAL, "The Kafka sink failed while " + doing + ": " + detail, t);
    }

    /** The most specific cause: through futures' wrappers and the client's generic KafkaException. */
    static Throwable unwrap(Throwable t) {
        Throwable cur = t;
        while (cur.getCause() != null && cur.getCause() != cur
                && (cur instanceof ExecutionException || cur instanceof CompletionException
                || cur.getClass() == KafkaException.class)) {
            cur = cur.getCause();
        }
        return cur;
    }
}
