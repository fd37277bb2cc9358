package dev.ferry.pipeline;

/** How a pipeline runs. */
public enum Mode {
    /** Batch: record the source's "now", deliver everything up to it, then return. */
    ONCE,
    /** Stream: run until stopped, then drain what the Log holds and return. */
    STREAM
}
