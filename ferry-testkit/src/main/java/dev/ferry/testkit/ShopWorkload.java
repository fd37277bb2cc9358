package dev.ferry.testkit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Random;

/**
 * A small shop (customers, products, transactions) and a seeded, repeatable write workload on it:
 * multi-row inserts, updates, deletes, in transactions of varying size. The same seed makes the
 * same statements; {@link #changes()} counts the rows changed so far.
 */
public final class ShopWorkload {
    private final Connection connection;
    private final Random random;
    private final long seed;
    private long changes;

    /** Uses the connection (autocommit is switched off) with the given seed. */
    public ShopWorkload(Connection connection, long seed) throws SQLException {
        this.connection = connection;
        this.seed = seed;
        this.random = new Random(seed);
        connection.setAutoCommit(false);
    }

    public long seed() {
        return seed;
    }

    /** Rows inserted, updated or deleted so far by {@link #seed} and {@link #run}. */
    public long changes() {
        return changes;
    }

    /** Creates the three tables. Idempotent only on an empty database. */
    public static void createSchema(Connection c) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, email text, "
                    + "vip boolean NOT NULL DEFAULT false, tags text[], created_at timestamptz NOT NULL DEFAULT now())");
            s.execute("CREATE TABLE products (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL, "
                    + "stock integer NOT NULL, weight_kg double precision, attributes jsonb)");
            s.execute("CREATE TABLE transactions (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, "
                    + "product_id integer NOT NULL, quantity integer NOT NULL, amount numeric(12,2) NOT NULL, "
                    + "status text NOT NULL, note text, receipt bytea, created_at timestamptz NOT NULL DEFAULT now(), "
                    + "updated_at timestamp)");
        } finally {
            c.setAutoCommit(auto);
        }
    }

    /** Inserts initial rows with set-based SQL (fast), in one transaction. */
    public void seed(int customers, int products, int transactions) throws SQLException {
        try (Statement s = connection.createStatement()) {
            changes += s.executeUpdate("INSERT INTO customers (name, email, vip, tags) SELECT 'customer ' || g, "
                    + "'c' || g || '@example.com', g % 10 = 0, ARRAY['t' || (g % 7), 'seed'] FROM generate_series(1, "
                    + customers + ") g");
            changes += s.executeUpdate("INSERT INTO products (name, price, stock, weight_kg, attributes) SELECT "
                    + "'product ' || g, (g * 1.25)::numeric(10,2), g % 100, g / 3.0, jsonb_build_object('color', "
                    + "'c' || (g % 5), 'size', g % 3) FROM generate_series(1, " + products + ") g");
            changes += s.executeUpdate("INSERT INTO transactions (customer_id, product_id, quantity, amount, status, "
                    + "note, receipt, updated_at) SELECT 1 + g % " + customers + ", 1 + g % " + products + ", 1 + g % 4, "
                    + "(g % 1000) * 0.37, 'paid', CASE WHEN g % 3 = 0 THEN 'note ' || g END, "
                    + "CASE WHEN g % 5 = 0 THEN decode(md5(g::text), 'hex') END, now()::timestamp "
                    + "FROM generate_series(1, " + transactions + ") g");
        }
        connection.commit();
    }

    /** Runs {@code count} random transactions; returns the rows they changed. */
    public long run(int count) throws SQLException {
        long before = changes;
        for (int i = 0; i < count; i++) {
            int kind = random.nextInt(100);
            if (kind < 40) {
                insertTransactions(1 + random.nextInt(5));
            } else if (kind < 70) {
                updateTransaction();
            } else if (kind < 80) {
                deleteTransaction();
            } else if (kind < 90) {
                updateCustomer();
            } else if (kind < 95) {
                insertCustomer();
            } else {
                updateProducts();
            }
            connection.commit();
        }
        return changes - before;
    }

    /** One transaction that inserts {@code rows} transactions with set-based SQL, then updates a tenth of them. */
    public long bigTransaction(int rows) throws SQLException {
        long before = changes;
        try (Statement s = connection.createStatement()) {
            changes += s.executeUpdate("INSERT INTO transactions (customer_id, product_id, quantity, amount, status, note) "
                    + "SELECT 1 + g % 100, 1 + g % 20, 1 + g % 3, (g % 500) * 1.01, 'bulk', 'bulk ' || g "
                    + "FROM generate_series(1, " + rows + ") g");
            changes += s.executeUpdate("UPDATE transactions SET status = 'bulk-updated' WHERE status = 'bulk' AND id % 10 = 0");
        }
        connection.commit();
        return changes - before;
    }

    private void insertTransactions(int rows) throws SQLException {
        StringBuilder sql = new StringBuilder("INSERT INTO transactions (customer_id, product_id, quantity, amount, "
                + "status, note, updated_at) VALUES ");
        for (int r = 0; r < rows; r++) {
            sql.append(r == 0 ? "" : ", ").append("(?, ?, ?, ?, 'new', ?, now()::timestamp)");
        }
        try (PreparedStatement ps = connection.prepareStatement(sql.toString())) {
            int p = 1;
            for (int r = 0; r < rows; r++) {
                ps.setLong(p++, 1 + random.nextInt(100));
                ps.setInt(p++, 1 + random.nextInt(20));
                ps.setInt(p++, 1 + random.nextInt(9));
                ps.setBigDecimal(p++, java.math.BigDecimal.valueOf(random.nextInt(1_000_000), 2));
                ps.setString(p++, random.nextBoolean() ? null : "gift \"wrap\" ünïcode " + random.nextInt(1000));
            }
            changes += ps.executeUpdate();
        }
    }

    private long randomId(String table) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT id FROM " + table + " WHERE id >= (SELECT min(id) + floor(random() * (max(id) - min(id) + 1)) "
                        + "FROM " + table + ") ORDER BY id LIMIT 1")) {
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : -1;
            }
        }
    }

    private void updateTransaction() throws SQLException {
        long id = randomId("transactions");
        try (PreparedStatement ps = connection.prepareStatement(
                "UPDATE transactions SET status = ?, amount = amount + ?, updated_at = now()::timestamp WHERE id = ?")) {
            ps.setString(1, random.nextBoolean() ? "shipped" : "refunded");
            ps.setBigDecimal(2, java.math.BigDecimal.valueOf(random.nextInt(1000), 2));
            ps.setLong(3, id);
            changes += ps.executeUpdate();
        }
    }

    private void deleteTransaction() throws SQLException {
        long id = randomId("transactions");
        try (PreparedStatement ps = connection.prepareStatement("DELETE FROM transactions WHERE id = ?")) {
            ps.setLong(1, id);
            changes += ps.executeUpdate();
        }
    }

    private void updateCustomer() throws SQLException {
        long id = randomId("customers");
        try (PreparedStatement ps = connection.prepareStatement(
                "UPDATE customers SET email = ?, vip = NOT vip, tags = array_append(tags, ?) WHERE id = ?")) {
            ps.setString(1, "new" + random.nextInt(1_000_000) + "@example.com");
            ps.setString(2, "x" + random.nextInt(10));
            ps.setLong(3, id);
            changes += ps.executeUpdate();
        }
    }

    private void insertCustomer() throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "INSERT INTO customers (name, email, tags) VALUES (?, ?, ARRAY[?, NULL])")) {
            ps.setString(1, "O'Brien, \"Jr\" " + random.nextInt(1000));
            ps.setString(2, random.nextBoolean() ? null : "o" + random.nextInt(1000) + "@example.com");
            ps.setString(3, "t{" + random.nextInt(10) + "}");
            changes += ps.executeUpdate();
        }
    }

    private void updateProducts() throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "UPDATE products SET stock = stock + 1, attributes = attributes || jsonb_build_object('touched', ?) "
                        + "WHERE id % 7 = ?")) {
            ps.setInt(1, random.nextInt(100));
            ps.setInt(2, random.nextInt(7));
            changes += ps.executeUpdate();
        }
    }
}
