/** The capture side: sources, their positions and codecs, and prerequisite checks. */
package dev.ferry.source;
