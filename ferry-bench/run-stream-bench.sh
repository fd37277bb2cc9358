#!/usr/bin/env bash
# The streaming benchmark: one private PostgreSQL, Ferry streaming into JSONL files in a process of its own.
# Measures, in one run: the latency from commit to the sink at fixed change rates (1k, 5k, 20k per second),
# p50/p99/max, with the sink set for latency (commit_interval_ms: 10), and beside them the Log's fsyncs (count,
# mean, max), the longest gap between the sink's writes, to tell a stall of the Log's disk, and the latency to the
# sink's write being called (without the sink's own writing); the source's write throughput (pgbench, 4 clients)
# alone, beside pg_recvlogical and beside Ferry with its defaults, in turns, each from a vacuumed and
# checkpointed source; Ferry's peak RSS. Prints a table
# and appends it, dated, to docs/streaming-benchmarks.md.
#
# Usage (from anywhere; about 7 minutes with the defaults):
#   ferry-bench/run-stream-bench.sh [--seconds N] [--rates 1000,5000,20000|none] [--sink 'yaml'] [--tps-turns N]
#                                                  # N: seconds per phase, default 30; turns of throughput, default 2
#   ferry-bench/run-stream-bench.sh --quick                                   # 10 s per phase
# Environment:
#   FERRY_BENCH_NO_DOCS  set to 1 to print the table without touching docs/streaming-benchmarks.md
#   FERRY_BENCH_NO_BUILD set to 1 to use ferry-bench/target/benchmarks.jar as it is
#   FERRY_JAVA_OPTS      JVM options for Ferry's process, as the ferry launcher takes them
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for a in "$@"; do
  if [ "$a" = --quick ]; then args+=(--seconds 10); else args+=("$a"); fi
done
if [ "${FERRY_BENCH_NO_BUILD:-0}" != 1 ]; then
  ./mvnw -q -B -DskipTests -pl ferry-bench -am package
fi
if [ "${FERRY_BENCH_NO_DOCS:-0}" != 1 ]; then
  args+=(--docs docs/streaming-benchmarks.md)
fi
exec java -Xmx1g -cp ferry-bench/target/benchmarks.jar dev.ferry.bench.StreamBench "${args[@]}"
