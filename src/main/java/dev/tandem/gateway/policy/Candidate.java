package dev.tandem.gateway.policy;

/** A healthy worker a policy may pick, with its last reported load ({@code GET /get_load}; 0 when unknown). */
public record Candidate(String url, long load) {
}
