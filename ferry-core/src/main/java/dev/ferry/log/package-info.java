/**
 * The Log: an append-only, checksummed, segmented file log on local disk between capture and
 * delivery. Offsets are the Log's own; every append also records the source position reached.
 */
package dev.ferry.log;
