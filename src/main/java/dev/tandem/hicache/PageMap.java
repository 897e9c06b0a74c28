package dev.tandem.hicache;

/**
 * A key-value store of whole pages that {@link MapStorage} runs on: a cluster's distributed map in production
 * (the worker adapts Hazelcast's {@code IMap}), a plain concurrent map in tests. Thread-safe; a value is replaced
 * whole, never seen half written.
 */
public interface PageMap {
    /** The value, or null when absent. */
    byte[] get(String key);

    void set(String key, byte[] value);

    boolean containsKey(String key);

    /** Removes {@code key}; false when it was not there. */
    boolean delete(String key);

    void clear();

    /** Entries, as far as the store knows cheaply. */
    long size();
}
