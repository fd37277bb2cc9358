/**
 * The DuckDB sink: mirror tables kept equal to the source and optional history tables in one DuckDB
 * file, with the committed offset written in the same transaction as the data.
 */
package dev.ferry.sink.duckdb;
