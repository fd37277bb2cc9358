package dev.ferry.testkit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The base of integration test classes that share one private MariaDB ({@link TestingMariaDb#start()}):
 * started before the class's first test, stopped after its last.
 */
public abstract class PrivateMariaDbTest {
    /** The server of the running test class. */
    protected static TestingMariaDb mariadb;

    @BeforeAll
    static void startPrivateMariaDb() {
        mariadb = TestingMariaDb.start();
    }

    @AfterAll
    static void stopPrivateMariaDb() {
        if (mariadb != null) {
            mariadb.close();
            mariadb = null;
        }
    }
}
