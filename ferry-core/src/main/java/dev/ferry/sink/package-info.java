/** The delivery side: sinks write events and their committed Log offset, atomically where they can. */
package dev.ferry.sink;
