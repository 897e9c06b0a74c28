package dev.tandem.gateway.policy;

import java.util.List;

/** The one place a routing policy is chosen by name. */
public final class Policies {
    public static final List<String> NAMES = List.of("random", "round_robin", "power_of_two", "cache_aware");

    private Policies() {
    }

    /** A policy that needs no prefix index (cache_aware is refused: use the other factory). */
    public static Policy create(String name) {
        return create(name, null, CacheAwarePolicy.Thresholds.DEFAULTS);
    }

    /**
     * {@code index} feeds cache_aware (the gateway builds it from the workers' KV events); the other policies ignore
     * it and {@code thresholds}.
     */
    public static Policy create(String name, PrefixIndex index, CacheAwarePolicy.Thresholds thresholds) {
        return switch (name) {
            case "random" -> new RandomPolicy();
            case "round_robin" -> new RoundRobinPolicy();
            case "power_of_two", "po2" -> new PowerOfTwoPolicy();
            case "cache_aware" -> {
                if (index == null) {
                    throw new IllegalArgumentException("policy: cache_aware needs a prefix index fed by KV events");
                }
                yield new CacheAwarePolicy(index, thresholds);
            }
            default -> throw new IllegalArgumentException("policy: unknown policy '" + name + "' (choose " + NAMES + ")");
        };
    }
}
