package dev.ferry.postgres;

import static dev.ferry.postgres.PostgresConnections.quoteIdent;

import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.event.TableId;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which tables go into the pipeline's publication when it starts: all that match {@code tables:} on
 * the first run, except those PostgreSQL cannot publish without breaking the source's updates;
 * on later runs, those missing since (created, or added to the list), added with their rows.
 */
final class Publication {
    private static final Logger LOG = LoggerFactory.getLogger(Publication.class);

    private final ConnectionSettings settings;
    private final SlotManager slots;
    private final TableAdditions additions;
    private final int serverVersionNum;

    Publication(ConnectionSettings settings, SlotManager slots, TableAdditions additions, int serverVersionNum) {
        this.settings = settings;
        this.slots = slots;
        this.additions = additions;
        this.serverVersionNum = serverVersionNum;
    }

    /**
     * First run: creates the publication for the tables, or adds those an existing one lacks, and
     * returns the tables captured. Without the right to, the error names the statement to run.
     */
    List<Catalog.TableInfo> createFor(Connection regular, List<Catalog.TableInfo> tables)
            throws SQLException, FerryException {
        List<Catalog.TableInfo> captured = withoutUnpublishable(regular, tables);
        try {
            slots.ensurePublication(regular, captured, serverVersionNum);
        } catch (SQLException e) {
            if (!"42501".equals(e.getSQLState()) && !String.valueOf(e.getMessage()).contains("must be owner")) {
                throw e;
            }
            throw new FerryException(ErrorKind.PREREQUISITE, "User " + settings.user() + " may not create or "
                    + "extend publication " + slots.publication() + " on " + settings.address() + " ("
                    + e.getMessage() + "). Ask the tables' owner or an administrator to run: "
                    + statement(captured) + " - Ferry then only needs LOGIN, REPLICATION and SELECT on the tables.", e);
        }
        return captured;
    }

    /**
     * Leaves out tables whose updates and deletes would fail on the source once published (no primary
     * key, no replica identity), unless they are published already. A table named in {@code tables:}
     * that cannot be published is an error; one matched by a pattern (or "every table") a warning.
     */
    private List<Catalog.TableInfo> withoutUnpublishable(Connection regular, List<Catalog.TableInfo> tables)
            throws SQLException, FerryException {
        Set<TableId> published = slots.publishedTables(regular).orElse(Set.of());
        List<Catalog.TableInfo> out = new ArrayList<>();
        List<String> named = new ArrayList<>();
        for (Catalog.TableInfo t : tables) {
            String fix = "ALTER TABLE " + quoteIdent(t.id().schema()) + "."
                    + quoteIdent(t.id().name()) + " REPLICA IDENTITY FULL;";
            if (t.publishable() || published.contains(t.id())) {
                out.add(t);
            } else if (settings.tables().names().contains(t.id())) {
                named.add(t.id() + " (" + fix + ")");
            } else {
                LOG.warn("Not capturing table {}: it has no primary key and no replica identity, so publishing it "
                        + "would make its UPDATEs and DELETEs fail on the source. Add a primary key or run {} - "
                        + "Ferry then adds it while streaming.", t.id(), fix);
            }
        }
        if (!named.isEmpty()) {
            throw new FerryException(ErrorKind.PREREQUISITE, settings.tablesWhere() + " names tables without a primary "
                    + "key or replica identity: " + String.join(", ", named) + ". Once in a publication, their UPDATEs "
                    + "and DELETEs would fail on the source. Add a primary key, set the replica identity as shown, or "
                    + "remove them from the list.");
        }
        return out;
    }

    /**
     * On a restart, the publication must still exist; captured tables it lacks (created since, or
     * added to {@code tables:}) are added with their rows (see {@link TableAdditions}).
     */
    void addMissing(Connection regular, List<Catalog.TableInfo> tables) throws SQLException, FerryException {
        Optional<Set<TableId>> published = slots.publishedTables(regular);
        if (published.isEmpty()) {
            throw new FerryException(ErrorKind.PREREQUISITE, "Publication " + slots.publication() + " no longer exists on "
                    + settings.address() + ", so the slot cannot stream. Recreate it (CREATE PUBLICATION "
                    + quoteIdent(slots.publication()) + " FOR TABLE ...;) with the tables this "
                    + "pipeline captures, or start the pipeline over.");
        }
        List<Catalog.TableInfo> missing = tables.stream().filter(t -> !published.get().contains(t.id())).toList();
        if (missing.isEmpty()) {
            return;
        }
        if (!TableAdditions.supported(serverVersionNum)) {
            LOG.warn("Tables {} are not in publication {} and are not captured: adding tables to a running pipeline "
                    + "needs PostgreSQL 14 or newer. Capture them with a new pipeline.", missing.stream()
                    .map(Catalog.TableInfo::id).toList(), slots.publication());
            return;
        }
        additions.add(missing, false);
    }

    private String statement(List<Catalog.TableInfo> tables) {
        return "CREATE PUBLICATION " + quoteIdent(slots.publication()) + " FOR TABLE "
                + tables.stream().map(Catalog.TableInfo::sqlName).collect(Collectors.joining(", "))
                + (serverVersionNum >= 130000 ? " WITH (publish_via_partition_root = true)" : "") + ";";
    }
}
