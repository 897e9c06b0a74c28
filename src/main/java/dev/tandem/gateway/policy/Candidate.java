package dev.tandem.gateway.policy;

/**
 * A healthy worker a policy may pick, with its load: the larger of its last reported {@code GET /get_load} (0 when
 * unknown) and this gateway's requests in flight on it.
 */
public record Candidate(String url, long load) {
}
