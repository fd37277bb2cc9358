package dev.ferry.source;

/**
 * What a source says about itself in every envelope's {@code "source"} block.
 *
 * @param connector the source type as consumers of the Debezium envelope know it ({@code postgresql})
 * @param name      the pipeline name
 * @param database  the source database
 */
public record SourceInfo(String connector, String name, String database) {
}
