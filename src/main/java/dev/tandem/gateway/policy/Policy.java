package dev.tandem.gateway.policy;

import java.util.List;

/** How one pool (prefill or decode) picks a worker for a request. Implementations are thread-safe. */
public interface Policy {
    String name();

    /** One of {@code candidates} (non-empty, healthy workers only). */
    Candidate pick(List<Candidate> candidates);
}
