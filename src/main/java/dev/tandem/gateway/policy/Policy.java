package dev.tandem.gateway.policy;

import java.util.List;

/** How one pool (prefill or decode) picks a worker for a request. Implementations are thread-safe. */
public interface Policy {
    String name();

    /** One of {@code candidates} (non-empty, healthy workers only). */
    Candidate pick(List<Candidate> candidates);

    /**
     * One of {@code candidates} for {@code request}. Policies that ignore the request (all but cache_aware) keep
     * the default.
     */
    default Candidate pick(List<Candidate> candidates, RouteRequest request) {
        return pick(candidates);
    }

    /** True when {@link #pick(List, RouteRequest)} uses the prompt's tokens, so the gateway must tokenize. */
    default boolean usesPromptTokens() {
        return false;
    }
}
