#!/usr/bin/env bash
# The sink benchmark: one private PostgreSQL with a shop-like table of 1,000,000 rows; for each sink (a null sink
# for the capture rate, jsonl, the duckdb mirror, duckdb with history, a postgres warehouse in a second private
# PostgreSQL, kafka into a private broker, the null sink again), a pipeline of its own run as `ferry run --once`
# in a process of its own: first the snapshot, then, after a backlog of 1,000,000 changes is written (the CDC
# benchmark's mix), the stream. Prints rows/s and changes/s per sink with the ratio to the capture rate, peak heap
# and RSS, and appends them, dated, to docs/benchmarks.md.
#
# Usage (from anywhere; about 15 minutes with the defaults on 2 cores):
#   ferry-bench/run-sink-bench.sh [--rows N] [--changes N] [--sinks null,duckdb,...] [--sink name='type: ...']
#   ferry-bench/run-sink-bench.sh --quick        # 200,000 rows and 200,000 changes, a first look
# Environment:
#   FERRY_BENCH_NO_DOCS  set to 1 to print the table without touching docs/benchmarks.md
#   FERRY_BENCH_NO_BUILD set to 1 to use ferry-bench/target/benchmarks.jar as it is
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for a in "$@"; do
  if [ "$a" = --quick ]; then args+=(--rows 200000 --changes 200000); else args+=("$a"); fi
done
if [ "${FERRY_BENCH_NO_BUILD:-0}" != 1 ]; then
  ./mvnw -q -B -DskipTests -pl ferry-bench -am package
fi
if [ "${FERRY_BENCH_NO_DOCS:-0}" != 1 ]; then
  args+=(--docs docs/benchmarks.md)
fi
# an absolute class path: the Kafka broker and the runs start from it in other folders; 4 GB for the harness, whose
# check of the DuckDB mirrors holds both sides of the tables in memory (the measured runs have their own JVMs)
exec java -Xmx4g -cp "$PWD/ferry-bench/target/benchmarks.jar" dev.ferry.bench.SinkBench "${args[@]}"
