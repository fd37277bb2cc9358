/**
 * The PostgreSQL warehouse sink ({@code type: postgres}): mirror tables kept equal to the source by
 * COPY into staging tables and set-based upserts and deletes, append-only history tables, and the
 * sink's offset committed in the same transaction as the data.
 */
package dev.ferry.sink.postgres;
