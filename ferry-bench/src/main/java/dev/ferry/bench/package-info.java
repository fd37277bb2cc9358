/**
 * JMH benchmarks of Ferry's hot paths and the baselines they are compared with. Run them with
 * {@code ferry-bench/run-log-bench.sh}, which also measures the disk with {@code dd} in the same run
 * and appends a dated row to {@code docs/benchmarks.md}; the build only packages them.
 */
package dev.ferry.bench;
