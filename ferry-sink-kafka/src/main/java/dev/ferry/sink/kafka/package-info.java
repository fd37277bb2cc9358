/** The Kafka sink: one topic per table, Debezium's envelope, exactly once through Kafka transactions. */
package dev.ferry.sink.kafka;
