package dev.ferry.sink.files;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.ferry.error.FerryException;
import dev.ferry.event.ChangeEvent;
import dev.ferry.event.Column;
import dev.ferry.event.EnvelopeWriter;
import dev.ferry.event.LogicalType;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Base64;
import java.util.List;

/**
 * CSV as RFC 4180 says: UTF-8, a header row, CRLF line ends, fields holding a comma, a double quote,
 * CR or LF quoted with {@code "} and inner quotes doubled. NULL is an empty field ({@code ,,}); the
 * empty string is a quoted empty field ({@code ,"",}) — the convention of PostgreSQL's
 * {@code COPY … CSV}, which reads them back apart. Values in the text of the change event (ARCHITECTURE.md):
 * exact decimals as written, floats with {@code NaN}/{@code Infinity}, timestamps ISO-8601, intervals
 * ISO-8601 durations, bytes base64, JSON as its text, arrays as a JSON array (JSON elements as
 * strings, so a JSON {@code null} element stays apart from a NULL one).
 */
final class CsvFormat implements FileFormat {
    private static final JsonFactory JSON = new JsonFactory();

    @Override
    public String name() {
        return "CSV";
    }

    @Override
    public String extension() {
        return "csv";
    }

    @Override
    public void write(Path file, List<Column> columns, List<ChangeEvent> events, long[] offsets) throws IOException, FerryException {
        try (Writer out = new BufferedWriter(new OutputStreamWriter(Files.newOutputStream(file, StandardOpenOption.CREATE_NEW),
                StandardCharsets.UTF_8), 1 << 16)) {
            StringBuilder line = new StringBuilder(256);
            for (String meta : HistoryRows.META) {
                field(line, meta);
            }
            for (Column c : columns) {
                field(line, c.name());
            }
            endLine(out, line);
            for (int n = 0; n < offsets.length; n++) {
                ChangeEvent e = events.get(n);
                field(line, Long.toString(offsets[n]));
                field(line, String.valueOf(e.op().code()));
                field(line, e.position().display());
                field(line, e.committedAt().toString());
                Long tx = HistoryRows.txId(e);
                field(line, tx == null ? null : tx.toString());
                List<String> unchanged = HistoryRows.unchanged(e);
                field(line, unchanged == null ? null : jsonArray(LogicalType.STRING, unchanged));
                for (Column c : columns) {
                    Object v = HistoryRows.value(e, c);
                    field(line, v == null ? null : text(c, v));
                }
                endLine(out, line);
            }
        }
    }

    /** The text of a non-null value in column {@code c}. */
    static String text(Column c, Object v) throws IOException {
        if (c.type() == LogicalType.ARRAY) {
            return jsonArray(c.elementType(), (List<?>) v);
        }
        return scalar(c.type(), v);
    }

    private static String scalar(LogicalType type, Object v) {
        if (v instanceof byte[] bytes) {
            return Base64.getEncoder().encodeToString(bytes);
        }
        if (v instanceof Double d) {
            if (d.isNaN() || d.isInfinite()) {
                return d.isNaN() ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
            }
            return type == LogicalType.FLOAT32 ? Float.toString(d.floatValue()) : d.toString();
        }
        return v.toString();
    }

    private static String jsonArray(LogicalType elementType, List<?> values) throws IOException {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            writeArray(elementType, values, g);
        }
        return out.toString();
    }

    private static void writeArray(LogicalType elementType, List<?> values, JsonGenerator g) throws IOException {
        g.writeStartArray();
        for (Object element : values) {
            if (element instanceof List<?> inner) {
                writeArray(elementType, inner, g); // a multi-dimensional array: arrays of arrays
            } else if (element != null && elementType == LogicalType.JSON) {
                g.writeString((String) element);
            } else {
                EnvelopeWriter.writeValue(elementType, null, element, g);
            }
        }
        g.writeEndArray();
    }

    /** Appends a field: quoted when it holds a comma, a quote, CR or LF, or is the empty string. */
    static void field(StringBuilder line, String value) {
        line.append(','); // before every field; endLine drops the first
        if (value == null) {
            return;
        }
        boolean quote = value.isEmpty();
        for (int i = 0; i < value.length() && !quote; i++) {
            char ch = value.charAt(i);
            quote = ch == ',' || ch == '"' || ch == '\r' || ch == '\n';
        }
        if (!quote) {
            line.append(value);
            return;
        }
        line.append('"');
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            if (ch == '"') {
                line.append('"');
            }
            line.append(ch);
        }
        line.append('"');
    }

    private static void endLine(Writer out, StringBuilder line) throws IOException {
        out.append(line, 1, line.length()).append("\r\n");
        line.setLength(0);
    }

    @Override
    public void close() {
    }
}
