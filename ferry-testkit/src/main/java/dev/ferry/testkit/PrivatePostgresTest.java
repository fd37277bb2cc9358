package dev.ferry.testkit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The base of integration test classes that share one private PostgreSQL ({@link TestingPostgres#start()}):
 * started before the class's first test, stopped after its last. Test classes run one after the other,
 * so the one static field serves each in turn.
 */
public abstract class PrivatePostgresTest {
    /** The server of the running test class. */
    protected static TestingPostgres pg;

    @BeforeAll
    static void startPrivatePostgres() {
        pg = TestingPostgres.start();
    }

    @AfterAll
    static void stopPrivatePostgres() {
        if (pg != null) {
            pg.close();
            pg = null;
        }
    }
}
