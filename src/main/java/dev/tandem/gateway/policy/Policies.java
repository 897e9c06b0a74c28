package dev.tandem.gateway.policy;

import java.util.List;

/** The one place a routing policy is chosen by name. */
public final class Policies {
    public static final List<String> NAMES = List.of("random", "round_robin", "power_of_two");

    private Policies() {
    }

    public static Policy create(String name) {
        return switch (name) {
            case "random" -> new RandomPolicy();
            case "round_robin" -> new RoundRobinPolicy();
            case "power_of_two", "po2" -> new PowerOfTwoPolicy();
            default -> throw new IllegalArgumentException("policy: unknown policy '" + name + "' (choose " + NAMES + ")");
        };
    }
}
