package dev.ferry.jdbc;

import dev.ferry.event.TableId;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.util.Locale;

/**
 * What differs between databases for the few statements Ferry writes: identifier quotes, whether a
 * table's schema is a JDBC catalog (MySQL, MariaDB) or a schema, the row limit, and the default schema.
 * Everything else is plain SQL every database reads: comparisons, {@code ORDER BY}, {@code MAX}.
 */
final class Dialect {
    private final String product;
    private final String quote;
    private final boolean schemaIsCatalog;
    private final boolean limitClause;
    private final String defaultSchema;

    private Dialect(String product, String quote, boolean schemaIsCatalog, boolean limitClause, String defaultSchema) {
        this.product = product;
        this.quote = quote;
        this.schemaIsCatalog = schemaIsCatalog;
        this.limitClause = limitClause;
        this.defaultSchema = defaultSchema;
    }

    static Dialect of(Connection c) throws SQLException {
        DatabaseMetaData meta = c.getMetaData();
        String product = meta.getDatabaseProductName();
        String p = product.toLowerCase(Locale.ROOT);
        String quote = meta.getIdentifierQuoteString();
        if (quote == null || quote.isBlank()) {
            quote = "\"";
        }
        quote = quote.trim();
        boolean sqlite = p.contains("sqlite");
        boolean catalog = p.contains("mysql") || p.contains("mariadb");
        boolean limit = sqlite || catalog || p.contains("postgres") || p.contains("h2") || p.contains("duckdb");
        String schema = sqlite ? "main" : catalog ? c.getCatalog() : c.getSchema();
        return new Dialect(product, quote, catalog, limit, schema == null ? "" : schema);
    }

    String product() {
        return product;
    }

    boolean postgres() {
        return product.toLowerCase(Locale.ROOT).contains("postgres");
    }

    boolean sqlite() {
        return product.toLowerCase(Locale.ROOT).contains("sqlite");
    }

    /** MySQL or MariaDB, whose {@code TIMESTAMP} is an instant shown in the session's time zone. */
    boolean mysqlFamily() {
        return schemaIsCatalog;
    }

    /**
     * Prepares a new connection's session. On MySQL and MariaDB its time zone becomes UTC: a {@code
     * TIMESTAMP} is stored as an instant but read and compared in the session's zone, where the hour
     * of a daylight saving change repeats (02:10 CET comes after 02:30 CEST), so a cursor mark read in
     * local time would skip rows; in UTC the values grow with the instants. {@code DATETIME} holds no
     * zone and is not converted. On PostgreSQL, the time zone becomes UTC too (see {@link RowReader}):
     * a {@code timestamptz} is the same instant in any zone.
     */
    void startSession(Connection c) throws SQLException {
        if (mysqlFamily()) {
            try (java.sql.Statement s = c.createStatement()) {
                s.execute("SET time_zone = '+00:00'");
            }
        } else if (postgres()) {
            try (java.sql.Statement s = c.createStatement()) {
                // timestamptz text in UTC ("...+00"), which RowReader turns into ISO-8601 without parsing it
                s.execute("SET TimeZone = 'UTC'");
            }
        }
    }

    /**
     * {@code expression} modulo {@code m}, with the sign of {@code expression} (as Java's {@code %}):
     * {@code %} on SQLite (whose {@code MOD()} is optional and returns a float) and SQL Server (no
     * {@code MOD()}), the standard {@code MOD()} elsewhere (Oracle and Db2 have no {@code %}).
     */
    String remainder(String expression, long m) {
        String p = product.toLowerCase(Locale.ROOT);
        return sqlite() || p.contains("microsoft") ? "(" + expression + " % " + m + ")" : "MOD(" + expression + ", " + m + ")";
    }

    /** The schema of a table written without one. */
    String defaultSchema() {
        return defaultSchema;
    }

    String quote(String identifier) {
        return quote + identifier.replace(quote, quote + quote) + quote;
    }

    /** The table's quoted name for a FROM clause. */
    String from(TableId t) {
        return t.schema().isEmpty() ? quote(t.name()) : quote(t.schema()) + "." + quote(t.name());
    }

    /** The catalog argument of {@link DatabaseMetaData} calls for the table. */
    String catalog(TableId t) {
        return schemaIsCatalog ? t.schema() : null;
    }

    /** The schema argument of {@link DatabaseMetaData} calls for the table. */
    String schema(TableId t) {
        return schemaIsCatalog || sqlite() ? null : t.schema();
    }

    /**
     * The clause that ends a query at {@code rows} rows, or empty where the database has no LIMIT (then
     * {@link java.sql.Statement#setMaxRows} alone bounds it).
     */
    String limit(int rows) {
        return limitClause ? " LIMIT " + rows : " FETCH FIRST " + rows + " ROWS ONLY";
    }

    /** The clause that skips {@code offset} rows, then ends the query at {@code rows} rows. */
    String limit(int rows, int offset) {
        return limitClause ? " LIMIT " + rows + " OFFSET " + offset
                : " OFFSET " + offset + " ROWS FETCH FIRST " + rows + " ROWS ONLY";
    }
}
