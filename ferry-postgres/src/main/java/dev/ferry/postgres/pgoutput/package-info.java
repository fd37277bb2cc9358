/** The pgoutput wire protocol: a pure decoder from XLogData payloads to protocol messages. */
package dev.ferry.postgres.pgoutput;
