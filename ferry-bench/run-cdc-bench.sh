#!/usr/bin/env bash
# The CDC catch-up benchmark: one private PostgreSQL, a backlog of changes in the WAL (a shop-like mix of
# small and large transactions: inserts, updates, deletes on a wide and a narrow table), drained from
# slots made at the same point with the same options by, in one run:
#   pg_recvlogical to /dev/null (the ceiling: what one walsender sends; once before the others, once after),
#   Ferry into a sink that discards, Ferry into JSONL files,
#   Debezium's embedded engine (3.6, PostgreSQL connector, pgoutput) into a JSONL file, in a child JVM with
#   its own class path (ferry-bench-debezium/target/debezium-bench.jar, built here too),
#   a bare pgjdbc client that discards the stream.
# Prints seconds, changes/s, the ratio to the fastest bare client, CPU seconds per million changes (Ferry's,
# Debezium's), peak RSS where it is separable (pg_recvlogical's, Debezium's) and Ferry into JSONL ÷ Debezium
# (the target is 2.5 or more); appends them, dated, to docs/cdc-benchmarks.md.
#
# Usage (from anywhere; about two minutes with the defaults):
#   ferry-bench/run-cdc-bench.sh [--changes N] [--rotate 0|1|2]   # default 1,000,000; rotate: who of Ferry null,
#                                               # Ferry JSONL, Debezium drains first (default: by the minute)
#   ferry-bench/run-cdc-bench.sh --quick           # 200,000 changes, a first look
# Environment:
#   FERRY_BENCH_NO_DOCS  set to 1 to print the table without touching docs/cdc-benchmarks.md
#   FERRY_BENCH_NO_BUILD set to 1 to use ferry-bench/target/benchmarks.jar and debezium-bench.jar as they are
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for a in "$@"; do
  if [ "$a" = --quick ]; then args+=(--changes 200000); else args+=("$a"); fi
done
if [ "${FERRY_BENCH_NO_BUILD:-0}" != 1 ]; then
  ./mvnw -q -B -DskipTests -pl ferry-bench,ferry-bench-debezium -am package
fi
if [ "${FERRY_BENCH_NO_DOCS:-0}" != 1 ]; then
  args+=(--docs docs/cdc-benchmarks.md)
fi
exec java -Xmx1g -cp ferry-bench/target/benchmarks.jar dev.ferry.bench.CdcBench "${args[@]}"
