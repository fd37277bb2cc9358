package dev.ferry.sink.postgres;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.TableId;
import java.io.IOException;
import java.sql.SQLException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * Turns a failure of the warehouse into a {@link FerryException} of the right kind, where the SQLSTATE
 * and what the sink was doing are known: unreachable or restarting servers are CONNECTIVITY (retried),
 * values and constraints the target rejects are DATA (naming table, column and Log offset), login
 * and database mistakes CONFIG, missing privileges PREREQUISITE.
 */
final class TargetErrors {
    private static final Pattern COPY_WHERE = Pattern.compile("COPY [^,]+, line (\\d+)(?:, column ([^:]+))?");

    /**
     * What the sink was doing when a statement failed.
     *
     * @param table  the source table, or null outside a table's write
     * @param target the warehouse table written, quoted
     * @param lines  the Log offset of each line of the COPY in progress (empty for other statements)
     */
    record Doing(TableId table, String target, List<Long> lines) {
    }

    private TargetErrors() {
    }

    static FerryException classify(SQLException e, WarehouseSettings s, Doing doing) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String where = "The PostgreSQL warehouse at " + s.address();
        String msg = e.getMessage() == null ? e.toString() : e.getMessage();
        ServerErrorMessage server = e instanceof PSQLException p ? p.getServerErrorMessage() : null;
        if (server != null && server.getMessage() != null) {
            msg = server.getMessage() + (server.getDetail() != null ? " (" + server.getDetail() + ")" : "");
        }
        if (state.equals("28P01") || state.equals("28000")) {
            return new FerryException(ErrorKind.CONFIG, where + " refused user " + s.user() + ": " + msg + ". Check the "
                    + "sink's user and password (usually ${env:NAME}: is the variable set?) and that pg_hba.conf allows this host.", e);
        }
        if (state.equals("08004") && msg.contains("password")) {
            return new FerryException(ErrorKind.CONFIG, where + " asks for a password, but the sink's password is not "
                    + "set. Add password: ${env:NAME} to the sink and set that environment variable.", e);
        }
        if (state.equals("3D000")) {
            return new FerryException(ErrorKind.CONFIG, where + ": database " + s.database() + " does not exist. Create "
                    + "it (CREATE DATABASE " + Sql.ident(s.database()) + ";) or fix the sink's database.", e);
        }
        if (state.equals("42501")) {
            return new FerryException(ErrorKind.PREREQUISITE, where + ": " + msg + " for user " + s.user() + ". Run, as "
                    + "the owner: GRANT CREATE ON SCHEMA " + Sql.ident(s.schema()) + " TO " + Sql.ident(s.user())
                    + "; (or GRANT CREATE ON DATABASE " + Sql.ident(s.database()) + " when the schema does not exist yet), "
                    + "or give the role the privileges it lacks on the existing tables (ferry check lists them).", e);
        }
        if (isConnectivity(e, state)) {
            return new FerryException(ErrorKind.CONNECTIVITY, where + " cannot be reached or dropped the connection: "
                    + msg + ". Check the sink's host and port and that the server runs; nothing of the batch was "
                    + "committed, it is written again when the server is back.", e);
        }
        if (state.startsWith("22") || state.startsWith("23") || state.equals("54000") || state.startsWith("2F")) {
            return new FerryException(ErrorKind.DATA, where + " rejected a change of " + describe(doing, server) + ": "
                    + msg + " (SQLSTATE " + state + "). The write was rolled back. Make the warehouse table able to hold "
                    + "it (for example widen the column with ALTER TABLE ... ALTER COLUMN ... TYPE ..., or drop the "
                    + "constraint), or let the dead-letter policy set the record aside.", e);
        }
        return new FerryException(ErrorKind.INTERNAL, where + " failed while writing "
                + (doing == null ? "Ferry's own tables" : describe(doing, server)) + ": " + msg + " (SQLSTATE " + state
                + "). The write was rolled back and is tried again from the Log on the next run.", e);
    }

    /** Whether the failure means the server is gone, restarting or transiently busy: worth retrying. */
    static boolean isConnectivity(SQLException e, String state) {
        if (state.startsWith("08") || state.startsWith("57P") || state.equals("53300") || state.equals("40001")
                || state.equals("40P01") || state.equals("25P03") || state.equals("53100")) {
            return true;
        }
        for (Throwable t = e.getCause(); t != null && t != t.getCause(); t = t.getCause()) {
            if (t instanceof IOException) {
                return true;
            }
        }
        return false;
    }

    /** "source table public.t (warehouse table "s"."t", column c, Log offset 12)". */
    private static String describe(Doing doing, ServerErrorMessage server) {
        if (doing == null || doing.table() == null) {
            return "Ferry's own tables";
        }
        StringBuilder b = new StringBuilder("source table ").append(doing.table()).append(" (warehouse table ")
                .append(doing.target());
        String column = server == null ? null : server.getColumn();
        Long offset = null;
        if (server != null && server.getWhere() != null) {
            Matcher m = COPY_WHERE.matcher(server.getWhere());
            if (m.find()) {
                int line = Integer.parseInt(m.group(1));
                if (line >= 1 && line <= doing.lines().size()) {
                    offset = doing.lines().get(line - 1);
                }
                if (column == null && m.group(2) != null) {
                    column = m.group(2);
                }
            }
        }
        if (column != null) {
            b.append(", column ").append(column);
        }
        if (server != null && server.getConstraint() != null) {
            b.append(", constraint ").append(server.getConstraint());
        }
        if (offset != null) {
            b.append(", Log offset ").append(offset);
        } else if (doing.lines().size() == 1) {
            b.append(", Log offset ").append(doing.lines().get(0));
        } else if (!doing.lines().isEmpty()) {
            b.append(", Log offsets ").append(java.util.Collections.min(doing.lines())).append(" to ")
                    .append(java.util.Collections.max(doing.lines()));
        }
        return b.append(')').toString();
    }
}
