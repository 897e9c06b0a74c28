package dev.tandem.kvevents;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * The publisher registry and factory (SGLang's {@code EventPublisherFactory}): {@code null} and {@code zmq} are
 * built in; adapters register more. A kind that needs its caller's context (the worker's {@code eventbus}
 * publisher needs that worker's Vert.x and URL, and one JVM may run several workers) is passed to
 * {@link #create(KvEventsConfig, int, Map)} instead of registered for the whole process.
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
        return create(cfg, attnDpRank, Map.of());
    }

    /** Creates the configured kind, looking in {@code local} (the caller's own kinds) before the registry. */
    public static EventPublisher create(KvEventsConfig cfg, int attnDpRank,
                                        Map<String, BiFunction<KvEventsConfig, Integer, EventPublisher>> local) {
        var ctor = local.containsKey(cfg.publisher()) ? local.get(cfg.publisher()) : REGISTRY.get(cfg.publisher());
        if (ctor == null) {
            java.util.Set<String> known = new java.util.TreeSet<>(REGISTRY.keySet());
            known.addAll(local.keySet());
            throw new IllegalArgumentException("kv-events-config.publisher: unknown event publisher '"
                    + cfg.publisher() + "' (known: " + known + ")");
        }
        return ctor.apply(cfg, attnDpRank);
    }
}
