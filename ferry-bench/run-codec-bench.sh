#!/usr/bin/env bash
# The hot path's micro-benchmarks on real bytes (JMH): the stream's pgoutput decoder and the JSON
# envelope writer, over 10,000 changes captured from PostgreSQL (ferry-bench/src/main/resources/pgoutput,
# made by dev.ferry.bench.PgOutputCapture). Prints time per pass over the capture and, with -prof gc,
# the bytes allocated per pass, which moves far less than time on a shared machine.
#
#   ferry-bench/run-codec-bench.sh              # both benchmarks, time and allocations
#   ferry-bench/run-codec-bench.sh Envelope     # a JMH include pattern of your own
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${FERRY_BENCH_NO_BUILD:-0}" != 1 ]; then
  ./mvnw -q -B -DskipTests -pl ferry-bench -am package
fi
pattern=${1:-'PgOutputDecodeBenchmark|EnvelopeWriteBenchmark'}
java -jar ferry-bench/target/benchmarks.jar "$pattern" -prof gc 2>&1 \
  | grep -E '^(Benchmark|d\.f\.|[A-Za-z]+Benchmark)' | grep -v -E 'gc\.(count|time|alloc\.rate )|churn'
