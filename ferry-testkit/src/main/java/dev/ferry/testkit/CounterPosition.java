package dev.ferry.testkit;

import dev.ferry.source.Position;
import java.util.Map;

/**
 * The position of a pretend source, for sink unit tests: one counter, displayed {@code #n}. Tests
 * usually make it the event's Log offset, so events are told apart.
 */
public record CounterPosition(long value) implements Position {
    @Override
    public String display() {
        return "#" + value;
    }

    @Override
    public boolean snapshot() {
        return false;
    }

    @Override
    public Map<String, Object> envelopeFields() {
        return Map.of("counter", value);
    }

    @Override
    public int compareTo(Position o) {
        return Long.compare(value, ((CounterPosition) o).value);
    }
}
