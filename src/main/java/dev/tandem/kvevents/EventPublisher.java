package dev.tandem.kvevents;

/** Where event batches go; one implementation per transport, chosen by {@link EventPublishers}. */
public interface EventPublisher extends AutoCloseable {
    /** Hands over a batch; may block while a bounded queue is full (as SGLang's does). */
    void publish(KvEventBatch batch);

    /** Stops, after sending what is queued (bounded wait). */
    @Override
    void close();
}
