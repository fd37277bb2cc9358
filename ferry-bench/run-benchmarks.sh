#!/usr/bin/env bash
# Every end-to-end benchmark in one run, then issue 11's targets beside what was measured:
#   CDC catch-up (run-cdc-bench.sh): Ferry into a null sink and into JSONL against pg_recvlogical and
#     Debezium's embedded engine on a backlog of changes;
#   snapshot (run-snapshot-bench.sh): Ferry's snapshots against COPY, alone and beside a write workload;
#   streaming (run-stream-bench.sh): latency at fixed rates, pgbench beside Ferry, Ferry's peak RSS.
# Each harness appends its dated table to its own page in docs/ (unless FERRY_BENCH_NO_DOCS=1) and the
# console output of all three is kept in a folder that is printed at the end.
#
# Usage (from anywhere; about 15 minutes on 2 cores, 6 with --quick):
#   ferry-bench/run-benchmarks.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
if [ "${1:-}" = --quick ]; then quick=(--quick); fi
./mvnw -q -B -DskipTests -pl ferry-bench,ferry-bench-debezium -am package
export FERRY_BENCH_NO_BUILD=1
out="$(mktemp -d -t ferry-benchmarks-XXXXXX)"
echo "== CDC catch-up"
ferry-bench/run-cdc-bench.sh "${quick[@]}" 2>&1 | tee "$out/cdc.txt"
echo "== Snapshot"
# the batch source's contenders (type: jdbc, issue 9's) run with run-snapshot-bench.sh --only jdbc
ferry-bench/run-snapshot-bench.sh "${quick[@]}" --except "jdbc source" 2>&1 | tee "$out/snapshot.txt"
echo "== Streaming"
ferry-bench/run-stream-bench.sh "${quick[@]}" 2>&1 | tee "$out/stream.txt"

# the targets of issue 11, each beside the line of the run that measures it
ratio() { # the ÷ column of a contender's row in a harness's table, the given number of fields from the right
  grep -E "^$1 +[0-9]" "$2" | tail -1 | awk '{print $(NF-'"$3"')}'
}
echo
echo "== Targets (ratios from this run)"
printf '%-58s %s\n' "CDC catch-up, null sink ÷ pg_recvlogical (≥ 0.80)" "$(ratio 'Ferry into a null sink' "$out/cdc.txt" 2)"
printf '%-58s %s\n' "CDC catch-up, Ferry JSONL ÷ Debezium JSONL (≥ 2.5)" \
  "$(grep -E '^Ferry into JSONL ÷ Debezium' "$out/cdc.txt" | sed -E 's/.*: ([0-9.]+).*/\1/')"
printf '%-58s %s\n' "Snapshot, chunked unthrottled ÷ COPY, from its start (≥ 0.70)" "$(ratio 'Ferry chunked, unthrottled' "$out/snapshot.txt" 6)"
printf '%-58s %s\n' "p99 latency at 5,000 changes/s, ms (≤ 25)" \
  "$(grep -E '^\| 5,000 per second' "$out/stream.txt" | awk -F'|' '{gsub(/ /, "", $6); print $6}')"
printf '%-58s %s\n' "Source write throughput beside Ferry ÷ alone (≥ 0.97)" \
  "$(grep -E 'Ferry ÷ alone\*\*' "$out/stream.txt" | tail -1 | sed -E 's/.*\*\*([0-9.]+)\*\*.*/\1/')"
printf '%-58s %s\n' "Ferry's peak RSS while streaming, MB (≤ 256)" \
  "$(grep -E "^Ferry's peak RSS" "$out/stream.txt" | sed -E 's/^Ferry.s peak RSS: ([0-9]+) MB.*/\1/')"
echo "Console output of each harness: $out"
