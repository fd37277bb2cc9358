/** File sinks: JSONL (one folder per table), and CSV and Parquet history files partitioned by table and commit date ({@link dev.ferry.sink.files.PartitionedFileSink}); all committed atomically with a manifest offset. */
package dev.ferry.sink.files;
