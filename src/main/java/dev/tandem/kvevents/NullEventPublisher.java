package dev.tandem.kvevents;

/** Drops every batch (the default when no publisher is configured). */
public final class NullEventPublisher implements EventPublisher {
    @Override
    public void publish(KvEventBatch batch) {
    }

    @Override
    public void close() {
    }
}
