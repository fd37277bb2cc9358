package dev.ferry.jdbc;

import dev.ferry.config.ComponentConfig;
import dev.ferry.error.FerryException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One configured table and how it is extracted.
 *
 * @param name       the table as written ({@code public.orders}, or {@code orders} in the connection's schema)
 * @param incremental whether only rows past the cursor's mark are read (else the whole table, each run)
 * @param cursor     the cursor column of an incremental table, else null
 * @param key        the key columns when given (else the primary key), possibly empty
 * @param lookback   how far behind its mark an incremental run reads again
 * @param softDelete the soft-delete column, or null
 * @param keyCompare whether deletes are found by comparing the table's keys with the keys of the last run
 * @param where      the pipeline file position of the entry, for messages
 */
record TableSpec(String name, boolean incremental, String cursor, List<String> key, Lookback lookback,
                 String softDelete, boolean keyCompare, String where) {

    /**
     * A look-back: a duration for timestamp cursors, an amount for numeric ones.
     *
     * @param duration the duration, or null
     * @param amount   the amount, when no duration
     */
    record Lookback(Duration duration, long amount) {
        private static final Pattern FORM = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?");

        static Lookback parse(String text, String where) throws FerryException {
            Matcher m = FORM.matcher(text.trim().toLowerCase(Locale.ROOT));
            if (!m.matches()) {
                throw FerryException.config(where + " must be a duration such as 10m, 2h, 1d (timestamp cursors) or a "
                        + "number (id cursors), got \"" + text + "\".");
            }
            long n = Long.parseLong(m.group(1));
            if (m.group(2) == null) {
                return new Lookback(null, n);
            }
            Duration d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
            return new Lookback(d, 0);
        }

        boolean none() {
            return duration == null ? amount == 0 : duration.isZero();
        }
    }

    static TableSpec read(ComponentConfig t, ComponentConfig source) throws FerryException {
        String name = t.get(JdbcSettings.TABLE).trim();
        boolean incremental = (t.has(JdbcSettings.MODE.key()) ? t.get(JdbcSettings.MODE) : source.get(JdbcSettings.MODE))
                .equals("incremental");
        String cursor = t.find(JdbcSettings.CURSOR).map(String::trim).orElse(null);
        if (incremental && cursor == null) {
            throw FerryException.config(t.where(JdbcSettings.TABLE.key()) + " (" + name + ") is incremental but names no "
                    + "cursor column; add cursor: updated_at (a timestamp set on every insert and update) or cursor: id "
                    + "(an increasing id), or use mode: full.");
        }
        if (!incremental && cursor != null) {
            throw FerryException.config(t.where(JdbcSettings.CURSOR.key()) + " is set on " + name + ", a full table; "
                    + "add mode: incremental to read only the rows past the cursor's mark.");
        }
        ComponentConfig lb = t.has(JdbcSettings.LOOKBACK.key()) ? t : source;
        Lookback lookback = Lookback.parse(lb.get(JdbcSettings.LOOKBACK), lb.where(JdbcSettings.LOOKBACK.key()));
        ComponentConfig dl = t.has(JdbcSettings.DELETES.key()) ? t : source;
        String deletes = dl.get(JdbcSettings.DELETES).trim();
        String softDelete = null;
        boolean keyCompare = deletes.equalsIgnoreCase("key_compare");
        if (deletes.toLowerCase(Locale.ROOT).startsWith("soft_delete:")) {
            softDelete = deletes.substring("soft_delete:".length()).trim();
        } else if (!deletes.equalsIgnoreCase("none") && !keyCompare) {
            throw FerryException.config(dl.where(JdbcSettings.DELETES.key()) + " must be none, key_compare or "
                    + "soft_delete:COLUMN, got \""
                    + deletes + "\".");
        }
        if (softDelete != null && softDelete.isEmpty()) {
            throw FerryException.config(dl.where(JdbcSettings.DELETES.key()) + " names no column after soft_delete:.");
        }
        if (keyCompare && !incremental && dl == source) {
            keyCompare = false; // the source-wide default: a full table's copy is replaced with its deletes anyway
        } else if (keyCompare && !incremental) {
            throw FerryException.config(dl.where(JdbcSettings.DELETES.key()) + ": " + name + " is a full table, whose "
                    + "copy is replaced every run, deletes included; key_compare is for incremental tables.");
        }
        return new TableSpec(name, incremental, cursor, t.find(JdbcSettings.KEY).orElse(List.of()), lookback, softDelete,
                keyCompare, t.where(JdbcSettings.TABLE.key()));
    }
}
