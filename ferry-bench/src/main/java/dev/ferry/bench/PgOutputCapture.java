package dev.ferry.bench;

import dev.ferry.testkit.TestingPostgres;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.zip.GZIPOutputStream;

/**
 * Captures real pgoutput messages for the decoder's micro-benchmarks: a private PostgreSQL, the CDC
 * benchmark's tables and backlog mix ({@link CdcBench#backlog}: small and large transactions,
 * inserts, updates and deletes of a wide and a narrow row), read from a slot with
 * {@code pg_logical_slot_peek_binary_changes} (protocol 1, as Ferry reads a server before 14).
 * Each message is written as its length (4 bytes, big-endian) and its bytes, gzipped.
 *
 * <p>Usage: {@code PgOutputCapture CHANGES FILE}; the committed capture is
 * {@code ferry-bench/src/main/resources/pgoutput/shop.bin.gz}, made with 10,000 changes.
 */
public final class PgOutputCapture {
    private static final String DB = "shop";

    private PgOutputCapture() {
    }

    public static void main(String[] args) throws Exception {
        long changes = Long.parseLong(args[0]);
        Path file = Path.of(args[1]);
        try (TestingPostgres pg = TestingPostgres.start()) {
            pg.createDatabase(DB);
            pg.execute(DB, CdcBench.TABLES_DDL);
            pg.execute(DB, "CREATE PUBLICATION capture_pub FOR TABLE orders, ticks",
                    "SELECT pg_create_logical_replication_slot('capture', 'pgoutput')");
            CdcBench.backlog(pg, changes, 0);
            // decoding stops at the WAL flushed so far: the tests' server commits without waiting for it
            pg.execute(DB, "CHECKPOINT");
            int messages = 0;
            try (Connection c = pg.connect(DB); Statement s = c.createStatement();
                 OutputStream file0 = Files.newOutputStream(file);
                 DataOutputStream out = new DataOutputStream(new GZIPOutputStream(file0))) {
                ResultSet rs = s.executeQuery("SELECT data FROM pg_logical_slot_peek_binary_changes('capture', NULL, NULL, "
                        + "'proto_version', '1', 'publication_names', 'capture_pub')");
                while (rs.next()) {
                    byte[] message = rs.getBytes(1);
                    out.writeInt(message.length);
                    out.write(message);
                    messages++;
                }
            }
            System.out.printf("%,d messages of %,d changes into %s (%,d bytes)%n", messages, changes, file, Files.size(file));
        }
    }
}
