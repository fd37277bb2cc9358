/** File sinks. JSONL: one folder per table, atomically committed files and a manifest offset. */
package dev.ferry.sink.files;
