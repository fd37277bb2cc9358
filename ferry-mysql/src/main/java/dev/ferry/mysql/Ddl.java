package dev.ferry.mysql;

import dev.ferry.event.TableId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a DDL statement from the binlog does to tables: which it names, and whether it empties them
 * (TRUNCATE, DROP). Only the statements that change tables are recognised; comments before the
 * statement are skipped.
 *
 * @param empties whether the tables lose all their rows
 */
record Ddl(List<TableId> tables, boolean empties) {
    private static final String NAME = "(?:`(?:[^`]|``)+`|[\\w$]+)";
    private static final String QUALIFIED = NAME + "(?:\\s*\\.\\s*" + NAME + ")?";
    private static final Pattern TRUNCATE = Pattern.compile("^TRUNCATE\\s+(?:TABLE\\s+)?(" + QUALIFIED + ")",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern DROP = Pattern.compile("^DROP\\s+(?:TEMPORARY\\s+)?TABLES?\\s+(?:IF\\s+EXISTS\\s+)?(.*)$",
            Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern ALTER = Pattern.compile("^(?:ALTER(?:\\s+ONLINE|\\s+IGNORE)*\\s+TABLE|CREATE(?:\\s+OR\\s+REPLACE)?"
            + "(?:\\s+TEMPORARY)?\\s+TABLE(?:\\s+IF\\s+NOT\\s+EXISTS)?)\\s+(?:IF\\s+EXISTS\\s+)?(" + QUALIFIED + ")",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern RENAME = Pattern.compile("^RENAME\\s+TABLES?\\s+(.*)$", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern ONE = Pattern.compile(QUALIFIED);

    static Ddl parse(String sql, String database) {
        String s = sql.strip().replaceFirst("^(?:/\\*.*?\\*/\\s*)+", "");
        Matcher m = TRUNCATE.matcher(s);
        if (m.find()) {
            return new Ddl(List.of(table(m.group(1), database)), true);
        }
        m = DROP.matcher(s);
        if (m.find()) {
            return new Ddl(all(m.group(1).replaceFirst("(?i)\\s+(RESTRICT|CASCADE)\\s*$", "")
                    .replaceAll("/\\*.*?\\*/", ""), database), true);
        }
        m = ALTER.matcher(s);
        if (m.find()) {
            return new Ddl(List.of(table(m.group(1), database)), false);
        }
        m = RENAME.matcher(s);
        if (m.find()) {
            return new Ddl(all(m.group(1).replaceAll("(?i)\\s+TO\\s+", ","), database), false);
        }
        return new Ddl(List.of(), false);
    }

    private static List<TableId> all(String list, String database) {
        List<TableId> out = new ArrayList<>();
        Matcher m = ONE.matcher(list);
        while (m.find()) {
            out.add(table(m.group(), database));
        }
        return out;
    }

    private static TableId table(String qualified, String database) {
        List<String> parts = new ArrayList<>();
        Matcher m = Pattern.compile(NAME).matcher(qualified);
        while (m.find()) {
            String p = m.group();
            parts.add(p.startsWith("`") ? p.substring(1, p.length() - 1).replace("``", "`") : p);
        }
        return parts.size() == 1 ? new TableId(database == null ? "" : database, parts.get(0))
                : new TableId(parts.get(0), parts.get(1));
    }

    @Override
    public String toString() {
        return (empties ? "empties " : "changes ") + tables.toString().toLowerCase(Locale.ROOT);
    }
}
