#!/usr/bin/env bash
# The Kafka benchmark: one private PostgreSQL and one private Kafka broker (KRaft, one partition per topic,
# replication factor 1), a backlog of changes in the WAL (the CDC benchmark's mix), and in one run:
#   Kafka's own producer performance tool (org.apache.kafka.tools.ProducerPerformance, kafka-tools), the ceiling:
#     the values Ferry wrote as its payloads, acks=all, idempotent, in transactions of 100 ms and without;
#   Ferry's Kafka sink alone: the backlog's events read from Ferry's Log and written in transactions of 8,192;
#   Ferry end to end: PostgreSQL → Log → Kafka sink, exactly once (a `ferry run --once` of postgres → kafka);
#   Debezium's embedded engine (3.6, PostgreSQL connector) into Kafka as Kafka Connect's worker sends records,
#     in a child JVM with its own class path (ferry-bench-debezium/target/debezium-bench.jar, built here too).
# Prints seconds, events/s, the ratio to the faster producer-tool run, MB/s of values, CPU seconds per
# million events (each contender's own process; the broker's and PostgreSQL's are not counted); appends
# them, dated, to docs/kafka-benchmarks.md. KafkaBench's Javadoc says what each contender does exactly.
#
# Usage (from anywhere; about three minutes with the defaults on 2 cores):
#   ferry-bench/run-kafka-bench.sh [--changes N]          # default 500,000
#   ferry-bench/run-kafka-bench.sh --quick                # 100,000 changes, a first look
#   ferry-bench/run-kafka-bench.sh --sink-property linger.ms=20 --sink-property compression.type=lz4
#                                                         # more producer properties, for Ferry and the tool
# Environment:
#   FERRY_BENCH_NO_DOCS  set to 1 to print the table without touching docs/kafka-benchmarks.md
#   FERRY_BENCH_NO_BUILD set to 1 to use ferry-bench/target/benchmarks.jar and debezium-bench.jar as they are
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for a in "$@"; do
  if [ "$a" = --quick ]; then args+=(--changes 100000); else args+=("$a"); fi
done
if [ "${FERRY_BENCH_NO_BUILD:-0}" != 1 ]; then
  ./mvnw -q -B -DskipTests -pl ferry-bench,ferry-bench-debezium -am package
fi
if [ "${FERRY_BENCH_NO_DOCS:-0}" != 1 ]; then
  args+=(--docs docs/kafka-benchmarks.md)
fi
# an absolute class path: the broker and the producer tool are child JVMs started in other folders
exec java -Xmx1g -cp "$PWD/ferry-bench/target/benchmarks.jar" dev.ferry.bench.KafkaBench "${args[@]}"
