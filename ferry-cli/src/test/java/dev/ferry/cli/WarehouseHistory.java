package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** The replay check of a postgres sink's history table, beside the mirror's comparison with the source. */
final class WarehouseHistory {
    private WarehouseHistory() {
    }

    /**
     * Checks that the history {@code <schema>.<table>_history} holds every change once (no position
     * twice) and that the last change of each key {@code id} in it agrees with the mirror (the keys it
     * leaves alive are the mirror's rows). Within one key, history rows follow the Log offset.
     */
    static void requireEachChangeOnce(Connection warehouse, String schema, String table) throws SQLException {
        String history = schema + "." + table + "_history";
        try (Statement st = warehouse.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT _ferry_position), "
                     + "(SELECT count(*) FROM (SELECT DISTINCT ON (id) _ferry_op FROM " + history
                     + " ORDER BY id, _ferry_offset DESC) last WHERE _ferry_op <> 'd'), "
                     + "(SELECT count(*) FROM " + schema + "." + table + ") FROM " + history)) {
            rs.next();
            assertThat(rs.getLong(2)).as(table + ": history rows with distinct positions").isEqualTo(rs.getLong(1));
            assertThat(rs.getLong(3)).as(table + ": keys alive by the history vs rows in the mirror")
                    .isEqualTo(rs.getLong(4));
        }
    }
}
