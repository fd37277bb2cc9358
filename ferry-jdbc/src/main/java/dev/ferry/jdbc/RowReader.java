package dev.ferry.jdbc;

import dev.ferry.event.Row;
import dev.ferry.event.RowEncoder;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.List;
import org.postgresql.PGResultSetMetaData;

/**
 * Reads the rows of a table's result sets straight into the Log's value encoding ({@link RowEncoder}):
 * the Log then copies a row's bytes instead of encoding each value, and no object per value is made.
 * One per reading thread: it holds the encoder's buffer.
 *
 * <p>From PostgreSQL (pgjdbc), a column sent as text whose value Ferry passes on as that text (text,
 * JSON, UUID, numeric, and whatever no rule knows) is copied as the driver's bytes: {@code getString}
 * of a text-format column is exactly those bytes decoded, so the value is the same without the
 * {@code String}; a {@code timestamptz}, which the session shows in UTC ({@link Dialect#startSession}),
 * is patched into ISO-8601 in a copy. Ferry's connections ask for text ({@code prepareThreshold=0},
 * {@link Connections}); columns the driver receives in binary all the same take the regular path.
 */
final class RowReader {
    private final List<ColumnReader> readers;
    private final boolean postgres;
    private final RowEncoder encoder = new RowEncoder();
    private ResultSet described;
    /** Per column: whether PostgreSQL sends it as text. */
    private boolean[] text;

    RowReader(TableShape shape, Dialect dialect) {
        this.readers = shape.readers();
        this.postgres = dialect.postgres();
    }

    /** The result set's current row. */
    Row read(ResultSet rs) throws SQLException {
        if (rs != described) {
            text = textColumns(rs);
            described = rs;
        }
        encoder.reset();
        for (int i = 0; i < text.length; i++) {
            readers.get(i).put(rs, i + 1, text[i], encoder);
        }
        return encoder.finish();
    }

    private boolean[] textColumns(ResultSet rs) throws SQLException {
        boolean[] out = new boolean[readers.size()];
        if (!postgres) {
            return out;
        }
        ResultSetMetaData md = rs.getMetaData();
        if (md instanceof PGResultSetMetaData pg) {
            for (int i = 0; i < out.length; i++) {
                out[i] = pg.getFormat(i + 1) == 0;
            }
        }
        return out;
    }
}
