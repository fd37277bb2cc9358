package dev.ferry.testkit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Random;

/**
 * {@link ShopWorkload}'s shop for MariaDB and MySQL: customers, products and orders, and a seeded
 * write workload of multi-row inserts, updates and deletes in transactions of varying size. The same
 * seed makes the same statements; {@link #changes()} counts the rows changed so far.
 */
public final class MariaDbShopWorkload {
    private final Connection connection;
    private final Random random;
    private long changes;
    private long nextOrder = 1_000_000;

    /** Uses the connection (autocommit is switched off) with the given seed. */
    public MariaDbShopWorkload(Connection connection, long seed) throws SQLException {
        this.connection = connection;
        this.random = new Random(seed);
        connection.setAutoCommit(false);
        try (Statement s = connection.createStatement(); var rs = s.executeQuery("SELECT COALESCE(MAX(id), 0) FROM orders")) {
            rs.next();
            nextOrder = Math.max(nextOrder, rs.getLong(1) + 1); // one writer at a time: after the last order
        } catch (SQLException e) {
            connection.rollback(); // no orders table yet: createSchema comes next
        }
    }

    /** Rows inserted, updated or deleted so far. */
    public long changes() {
        return changes;
    }

    /** Creates the three tables. */
    public static void createSchema(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200), "
                    + "vip tinyint NOT NULL DEFAULT 0, created_at datetime(6) NOT NULL)");
            s.execute("CREATE TABLE products (id int PRIMARY KEY, name varchar(100) NOT NULL, price decimal(10,2) NOT NULL, "
                    + "stock int NOT NULL, weight_kg double)");
            s.execute("CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, product_id int NOT NULL, "
                    + "quantity int NOT NULL, amount decimal(12,2) NOT NULL, status varchar(20) NOT NULL, note text, "
                    + "receipt blob, created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))");
        }
        if (!c.getAutoCommit()) {
            c.commit();
        }
    }

    /** Inserts initial rows with set-based SQL (MariaDB's seq_1_to_N tables), in one transaction. */
    public void seed(int customers, int products, int orders) throws SQLException {
        try (Statement s = connection.createStatement()) {
            changes += s.executeUpdate("INSERT INTO customers SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, "
                    + "'@example.com'), seq % 10 = 0, '2026-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_1_to_" + customers);
            changes += s.executeUpdate("INSERT INTO products SELECT seq, CONCAT('product ', seq), (seq % 500) + 0.99, "
                    + "100, seq / 7 FROM seq_1_to_" + products);
            changes += s.executeUpdate("INSERT INTO orders (id, customer_id, product_id, quantity, amount, status) "
                    + "SELECT seq, 1 + seq % " + customers + ", 1 + seq % " + products + ", 1 + seq % 5, (seq % 1000) + 0.5, "
                    + "'new' FROM seq_1_to_" + orders);
        }
        connection.commit();
    }

    /** Runs {@code transactions} transactions of 1 to 20 changes each, committed one by one. */
    public void run(int transactions) throws SQLException {
        for (int t = 0; t < transactions; t++) {
            int statements = 1 + random.nextInt(random.nextInt(10) == 0 ? 20 : 4);
            for (int i = 0; i < statements; i++) {
                int kind = random.nextInt(10);
                if (kind < 5) {
                    insertOrders(1 + random.nextInt(3));
                } else if (kind < 8) {
                    changes += update("UPDATE orders SET status = ?, amount = amount + 1, note = ? WHERE id = ?",
                            new String[] {"paid", "shipped", "refunded"}[random.nextInt(3)], "n" + random.nextInt(1000));
                } else if (kind < 9) {
                    changes += update("DELETE FROM orders WHERE id = ?", null, null);
                } else {
                    changes += update("UPDATE customers SET vip = 1 - vip WHERE id = ?", null, null);
                }
            }
            connection.commit();
        }
    }

    /** One transaction inserting {@code rows} orders. */
    public void bigTransaction(int rows) throws SQLException {
        insertOrders(rows);
        connection.commit();
    }

    private void insertOrders(int rows) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("INSERT INTO orders (id, customer_id, product_id, quantity, "
                + "amount, status, receipt) VALUES (?, 1, 1, ?, ?, 'new', ?)")) {
            for (int i = 0; i < rows; i++) {
                ps.setLong(1, nextOrder++);
                ps.setInt(2, 1 + random.nextInt(5));
                ps.setBigDecimal(3, java.math.BigDecimal.valueOf(random.nextInt(100_000), 2));
                ps.setBytes(4, random.nextInt(4) == 0 ? new byte[] {1, 2, (byte) random.nextInt(256)} : null);
                ps.addBatch();
                if (i % 1000 == 999) {
                    ps.executeBatch();
                }
            }
            ps.executeBatch();
        }
        changes += rows;
    }

    private int update(String sql, String first, String second) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            int i = 1;
            if (first != null) {
                ps.setString(i++, first);
                ps.setString(i++, second);
            }
            // an existing id most of the time: the seeded range or a recent insert
            ps.setLong(i, sql.contains("customers") ? 1 + random.nextInt(100)
                    : random.nextBoolean() ? 1 + random.nextInt(1000) : nextOrder - 1 - random.nextInt(50));
            return ps.executeUpdate();
        }
    }
}
