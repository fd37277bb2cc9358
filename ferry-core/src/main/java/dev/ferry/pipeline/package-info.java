/**
 * The runtime: threads, the order of durable steps (capture → Log → acknowledge → deliver), and the
 * batch and stream modes.
 */
package dev.ferry.pipeline;
