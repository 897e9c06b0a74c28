package dev.tandem.kvevents;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * The publisher registry and factory (SGLang's {@code EventPublisherFactory}): {@code null} and {@code zmq} are
 * built in; adapters register more ({@code eventbus} is registered by the worker, which owns the Vert.x side).
 */
public final class EventPublishers {
    private static final Map<String, BiFunction<KvEventsConfig, Integer, EventPublisher>> REGISTRY =
            new ConcurrentHashMap<>(Map.of(
                    "null", (c, r) -> new NullEventPublisher(),
                    "zmq", ZmqEventPublisher::new));

    private EventPublishers() {
    }

    /** Adds a publisher kind; a name already taken is an error (as in SGLang). */
    public static void register(String name, BiFunction<KvEventsConfig, Integer, EventPublisher> ctor) {
        if (REGISTRY.putIfAbsent(name, ctor) != null) {
            throw new IllegalArgumentException("event publisher '" + name + "' is already registered");
        }
    }

    /** Registers unless present (adapters that may be set up more than once per process). */
    public static void registerIfAbsent(String name, BiFunction<KvEventsConfig, Integer, EventPublisher> ctor) {
        REGISTRY.putIfAbsent(name, ctor);
    }

    public static EventPublisher create(KvEventsConfig cfg, int attnDpRank) {
        var ctor = REGISTRY.get(cfg.publisher());
        if (ctor == null) {
            throw new IllegalArgumentException("Unknown event publisher '" + cfg.publisher() + "' (known: "
                    + REGISTRY.keySet() + ")");
        }
        return ctor.apply(cfg, attnDpRank);
    }
}
