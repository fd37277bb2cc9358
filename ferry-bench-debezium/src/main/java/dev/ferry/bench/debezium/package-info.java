/**
 * The Debezium contender of the CDC catch-up benchmark: a main class the benchmark (ferry-bench's
 * {@code CdcBench}) starts in a child JVM, built into {@code target/debezium-bench.jar} by
 * {@code ferry-bench/run-cdc-bench.sh}. Nothing else in Ferry depends on this module.
 */
package dev.ferry.bench.debezium;
