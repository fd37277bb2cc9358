package dev.ferry.config;

import java.util.function.UnaryOperator;

/**
 * Where configuration text came from (for messages) and how environment references resolve.
 *
 * @param fileName    the name printed in messages, such as {@code pipeline.yaml}
 * @param baseDir     relative paths in the file resolve against it (the file's folder)
 * @param environment looks up an environment variable; null when it is not set
 */
record ConfigSource(String fileName, java.nio.file.Path baseDir, UnaryOperator<String> environment) {
    String where(int line) {
        return fileName + " line " + line + ": ";
    }
}
