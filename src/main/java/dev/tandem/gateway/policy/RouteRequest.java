package dev.tandem.gateway.policy;

/**
 * What a policy may know about the request it routes. {@code promptTokens} are the first prompt's token ids as the
 * worker will see them (null when the gateway did not, or could not, compute them: policies must cope).
 */
public record RouteRequest(int[] promptTokens) {
    /** A request the policy knows nothing about. */
    public static final RouteRequest NONE = new RouteRequest(null);
}
