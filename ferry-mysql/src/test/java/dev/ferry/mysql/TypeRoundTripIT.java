package dev.ferry.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.testkit.PrivateMariaDbTest;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Edge values of every MySQL type family, read by the snapshot and again from the binlog: both must
 * give the same representation, and that representation is the one docs/mysql.md promises.
 */
class TypeRoundTripIT extends PrivateMariaDbTest {
    private static final String TABLE = "CREATE TABLE types (id int PRIMARY KEY, "
            + "ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned, mi mediumint, miu mediumint unsigned, "
            + "i int, iu int unsigned, bi bigint, biu bigint unsigned, d decimal(30,10), f float, db double, "
            + "b bit(10), b64 bit(64), e enum('small','medium','large'), st set('a','b','c'), "
            + "dt date, dtm datetime(6), dt0 datetime, ts timestamp(3) NULL DEFAULT NULL, tm time(6), yr year, "
            + "c char(5), vc varchar(50), tx text, lat varchar(20) CHARACTER SET latin1, sj varchar(20) CHARACTER SET sjis, "
            + "u16 varchar(10) CHARACTER SET utf16, bin binary(4), vb varbinary(10), bl blob, js json, g geometry)";
    private static final String COLUMNS = "ti, tiu, si, siu, mi, miu, i, iu, bi, biu, d, f, db, b, b64, e, st, dt, dtm, dt0, "
            + "ts, tm, yr, c, vc, tx, lat, sj, u16, bin, vb, bl, js, g";
    private static final String MAX = "127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, "
            + "9223372036854775807, 18446744073709551615, 12345678901234567890.0123456789, 1.2345678, 1.7976931348623157E308, "
            + "b'1010000001', b'1111111111111111111111111111111111111111111111111111111111111111', 'large', 'a,c', "
            + "'9999-12-31', '2026-11-24 12:34:56.123456', '1000-01-01 00:00:00', '2038-01-19 03:14:07.999', "
            + "'838:59:59.000000', 2155, 'abc', 'héllo wörld ✓', 'long text 😀', 'café', 'テスト', 'Ωmega', x'0102', "
            + "x'00ff', x'deadbeef', '{\"a\": [1, 2.5, \"x\"]}', ST_GeomFromText('POINT(1 2)')";
    private static final String MIN = "-128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0, "
            + "-0.0000000001, -1.5, -2.2250738585072014E-308, b'0', b'0', 'small', '', '0000-00-00', "
            + "'0000-00-00 00:00:00', '0001-01-01 00:00:00', '0000-00-00 00:00:00', '-838:59:59.000001', 0, '', '', '', "
            + "'', '', '', x'', x'', x'', '[]', ST_GeomFromText('LINESTRING(0 0, 1 1)')";

    @TempDir
    Path dir;

    @Test
    void snapshotAndBinlogGiveTheSameExactValues() throws Exception {
        String db = MySqlSourceIT.newDatabase("SET SESSION sql_mode = ''", "SET SESSION time_zone = '+00:00'", TABLE,
                "INSERT INTO types (id, " + COLUMNS + ") VALUES (1, " + MAX + "), (2, " + MIN + ")",
                "INSERT INTO types (id) VALUES (3)");
        MySqlPipelines pipeline = new MySqlPipelines(mariadb, db, mariadb.grantCapture(), dir);
        assertThat(pipeline.runOnce()).isTrue();
        mariadb.execute(db, "SET SESSION sql_mode = ''", "SET SESSION time_zone = '+00:00'",
                "INSERT INTO types (id, " + COLUMNS + ") VALUES (101, " + MAX + "), (102, " + MIN + ")",
                "INSERT INTO types (id) VALUES (103)");
        assertThat(pipeline.runOnce()).isTrue();
        List<JsonNode> events = pipeline.envelopes();
        assertThat(events).hasSize(6);

        JsonNode max = events.get(0).get("after");
        Map<String, String> expected = Map.ofEntries(Map.entry("ti", "127"), Map.entry("tiu", "255"),
                Map.entry("siu", "65535"), Map.entry("miu", "16777215"), Map.entry("iu", "4294967295"),
                Map.entry("bi", "9223372036854775807"), Map.entry("biu", "\"18446744073709551615\""),
                Map.entry("d", "\"12345678901234567890.0123456789\""), Map.entry("f", "1.2345678"),
                Map.entry("db", "1.7976931348623157E308"), Map.entry("b", "\"1010000001\""),
                Map.entry("b64", "\"" + "1".repeat(64) + "\""), Map.entry("e", "\"large\""), Map.entry("st", "\"a,c\""),
                Map.entry("dt", "\"9999-12-31\""), Map.entry("dtm", "\"2026-11-24T12:34:56.123456\""),
                Map.entry("dt0", "\"1000-01-01T00:00:00\""), Map.entry("ts", "\"2038-01-19T03:14:07.999Z\""),
                Map.entry("tm", "\"838:59:59.000000\""), Map.entry("yr", "2155"), Map.entry("c", "\"abc\""),
                Map.entry("vc", "\"héllo wörld ✓\""), Map.entry("tx", "\"long text 😀\""), Map.entry("lat", "\"café\""),
                Map.entry("sj", "\"テスト\""), Map.entry("u16", "\"Ωmega\""), Map.entry("bin", "\"AQIAAA==\""),
                Map.entry("vb", "\"AP8=\""), Map.entry("bl", "\"3q2+7w==\""),
                Map.entry("js", "\"{\\\"a\\\": [1, 2.5, \\\"x\\\"]}\""), Map.entry("g", "\"AQEAAAAAAAAAAADwPwAAAAAAAABA\""));
        expected.forEach((column, json) -> assertThat(max.get(column).toString()).as(column).isEqualTo(json));

        JsonNode min = events.get(1).get("after");
        assertThat(min.get("bi").asText()).isEqualTo("-9223372036854775808");
        assertThat(min.get("biu").asText()).isEqualTo("0");
        assertThat(min.get("d").asText()).isEqualTo("-0.0000000001");
        assertThat(min.get("b").asText()).isEqualTo("0000000000");
        assertThat(min.get("st").asText()).isEmpty();
        assertThat(min.get("dt").isNull()).as("zero date").isTrue();
        assertThat(min.get("dtm").isNull()).as("zero datetime").isTrue();
        assertThat(min.get("ts").isNull()).as("zero timestamp").isTrue();
        assertThat(min.get("dt0").asText()).isEqualTo("0001-01-01T00:00:00");
        assertThat(min.get("tm").asText()).isEqualTo("-838:59:59.000001");
        assertThat(min.get("yr").asLong()).isZero();
        assertThat(min.get("bin").asText()).isEqualTo("AAAAAA==");
        assertThat(min.get("js").asText()).isEqualTo("[]");

        // the binlog's values are the snapshot's, column by column
        for (int row = 0; row < 3; row++) {
            JsonNode snapshot = events.get(row).get("after");
            JsonNode streamed = events.get(row + 3).get("after");
            assertThat(events.get(row + 3).get("op").asText()).isEqualTo("c");
            for (Iterator<String> names = snapshot.fieldNames(); names.hasNext(); ) {
                String column = names.next();
                if (!column.equals("id")) {
                    assertThat(streamed.get(column)).as("row " + (row + 1) + " column " + column).isEqualTo(snapshot.get(column));
                }
            }
        }
        assertThat(events.get(2).get("after").get("biu").isNull()).isTrue();
    }
}
