#!/usr/bin/env bash
# The CDC catch-up benchmark: one private PostgreSQL, a backlog of changes in the WAL (a shop-like mix of
# small and large transactions: inserts, updates, deletes on a wide and a narrow table), drained from
# slots made at the same point with the same options by, in one run:
#   pg_recvlogical to /dev/null (the ceiling: what one walsender sends; once before Ferry, once after),
#   Ferry into a sink that discards, Ferry into JSONL files.
# Prints seconds, changes/s, the ratio to the faster ceiling and Ferry's CPU seconds per million changes;
# appends them, dated, to docs/cdc-benchmarks.md.
#
# Usage (from anywhere; about a minute with the defaults):
#   ferry-bench/run-cdc-bench.sh [--changes N]     # default 1,000,000
#   ferry-bench/run-cdc-bench.sh --quick           # 200,000 changes, a first look
# Environment:
#   FERRY_BENCH_NO_DOCS  set to 1 to print the table without touching docs/cdc-benchmarks.md
#   FERRY_BENCH_NO_BUILD set to 1 to use ferry-bench/target/benchmarks.jar as it is
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for a in "$@"; do
  if [ "$a" = --quick ]; then args+=(--changes 200000); else args+=("$a"); fi
done
if [ "${FERRY_BENCH_NO_BUILD:-0}" != 1 ]; then
  ./mvnw -q -B -DskipTests -pl ferry-bench -am package
fi
if [ "${FERRY_BENCH_NO_DOCS:-0}" != 1 ]; then
  args+=(--docs docs/cdc-benchmarks.md)
fi
exec java -Xmx1g -cp ferry-bench/target/benchmarks.jar dev.ferry.bench.CdcBench "${args[@]}"
