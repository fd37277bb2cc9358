package dev.ferry.testkit;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A private Kafka broker ({@link TestingKafka}) for one integration test class: started before its
 * first test, closed after its last. Register it as a static field:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final PrivateKafka KAFKA = new PrivateKafka();
 * ... KAFKA.broker().bootstrapServers() ...
 * }</pre>
 */
public final class PrivateKafka implements BeforeAllCallback, AfterAllCallback {
    private TestingKafka broker;

    /** The running broker of the test class. */
    public TestingKafka broker() {
        if (broker == null) {
            throw new IllegalStateException("the private Kafka broker runs only while its test class runs");
        }
        return broker;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        broker = TestingKafka.start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (broker != null) {
            broker.close();
            broker = null;
        }
    }
}
