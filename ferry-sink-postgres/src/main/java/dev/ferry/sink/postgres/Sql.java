package dev.ferry.sink.postgres;

/** Quoting of names for the SQL the sink writes: every identifier double-quoted, inner quotes doubled. */
final class Sql {
    private Sql() {
    }

    static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    static String qualified(String schema, String table) {
        return ident(schema) + "." + ident(table);
    }
}
