/**
 * The Parquet sink: the file sinks' partitioned, exactly-once history files
 * ({@link dev.ferry.sink.files.PartitionedFileSink}), each written by an in-memory DuckDB through its
 * Parquet writer ({@code COPY … TO … (FORMAT parquet)}).
 */
package dev.ferry.sink.parquet;
