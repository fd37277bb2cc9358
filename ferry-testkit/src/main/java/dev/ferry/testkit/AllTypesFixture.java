package dev.ferry.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The all-types fixture ({@code sql/alltypes.sql}): a PostgreSQL table with every type of the type
 * table and its edge values, for the sinks' replay checks. One statement per line, in order.
 */
public final class AllTypesFixture {
    private AllTypesFixture() {
    }

    /** The fixture's statements, comments and blank lines left out. */
    public static String[] statements() {
        try (InputStream in = AllTypesFixture.class.getClassLoader().getResourceAsStream("sql/alltypes.sql")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("--")).toArray(String[]::new);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
