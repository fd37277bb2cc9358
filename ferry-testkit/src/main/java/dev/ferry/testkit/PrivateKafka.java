package dev.ferry.testkit;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A private Kafka broker ({@link TestingKafka}) for integration tests: started before the first
 * test class that registers it, shared by the classes that run after it in the same JVM (a broker
 * takes seconds to start), and closed when the test run ends. Tests keep apart by their own topic
 * names and transactional ids. Register it as a static field:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final PrivateKafka KAFKA = new PrivateKafka();
 * ... KAFKA.broker().bootstrapServers() ...
 * }</pre>
 */
public final class PrivateKafka implements BeforeAllCallback {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(PrivateKafka.class);

    private TestingKafka broker;

    /** The running broker. */
    public TestingKafka broker() {
        if (broker == null) {
            throw new IllegalStateException("the private Kafka broker runs only while its test class runs");
        }
        return broker;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        broker = context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent("broker", key -> new Shared(TestingKafka.start()), Shared.class).broker();
        broker.resume(); // a test class before may have left it stopped
    }

    /** The broker of the whole run, closed by JUnit when the run ends. */
    private record Shared(TestingKafka broker) implements AutoCloseable {
        @Override
        public void close() {
            broker.close();
        }
    }
}
