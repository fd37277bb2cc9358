#!/usr/bin/env bash
# The snapshot benchmark: one private PostgreSQL, one table, and for each contender the time to read
# it all beside what it costs a pgbench-style write workload running at the same time (two clients,
# each transaction an UPDATE and an INSERT). Contenders, in one run on the same data:
#   COPY items TO STDOUT into nothing (the ceiling), a plain JDBC SELECT * (the naive dump), and Ferry's
#   snapshots through a Pipeline into a sink that discards: initial (one transaction), chunked, and
#   chunked with snapshot_max_rows_per_second.
# Prints a table with rows/s, MB/s, the ratio to COPY, and the workload's TPS ÷ alone and p99; appends
# it, dated, to docs/snapshot-benchmarks.md.
#
# Usage (from anywhere; about three minutes with the defaults):
#   ferry-bench/run-snapshot-bench.sh [--rows N] [--throttle ROWS_PER_S] [--workload-seconds S]
#   ferry-bench/run-snapshot-bench.sh --quick        # 200,000 rows, a first look
#   ferry-bench/run-snapshot-bench.sh --only chunked # COPY and the contenders whose name has "chunked"
#   ferry-bench/run-snapshot-bench.sh --except "jdbc source"  # all but the contenders whose name has it
#   ferry-bench/run-snapshot-bench.sh --set "snapshot_readers: 3"   # a line added to Ferry's source section
# Environment:
#   FERRY_BENCH_NO_DOCS  set to 1 to print the table without touching docs/snapshot-benchmarks.md
#   FERRY_BENCH_NO_BUILD set to 1 to use ferry-bench/target/benchmarks.jar as it is
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for a in "$@"; do
  if [ "$a" = --quick ]; then args+=(--rows 200000 --workload-seconds 5); else args+=("$a"); fi
done
if [ "${FERRY_BENCH_NO_BUILD:-0}" != 1 ]; then
  ./mvnw -q -B -DskipTests -pl ferry-bench -am package
fi
if [ "${FERRY_BENCH_NO_DOCS:-0}" != 1 ]; then
  args+=(--docs docs/snapshot-benchmarks.md)
fi
exec java -Xmx1g -cp ferry-bench/target/benchmarks.jar dev.ferry.bench.SnapshotBench "${args[@]}"
