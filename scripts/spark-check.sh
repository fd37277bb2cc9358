#!/usr/bin/env bash
# Apache Spark (3.5, local mode) reads the Parquet sink's files: a private PostgreSQL with every type of
# the all-types fixture, a snapshot and a stream into the parquet sink (history partitioned by day and
# hour, and the mirror), then Spark's reading of the history and of the mirror compared, row by row and
# value by value, with DuckDB's reading of the same files (and the mirror with the source).
# Outside the default build and CI (Spark's dependencies weigh some 230 MB): profile `spark`, module
# ferry-spark-check. See docs/sinks.md ("Read by Spark").
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf */target/failsafe-reports  # a stale summary of another module would fail verify
exec ./mvnw -B -Pspark verify -pl ferry-spark-check -am -Dit.test=SparkReadsParquetIT -Dtest=none \
  -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false "$@"
