package dev.tandem.engine.sampling;

/** A token id with its log-probability; SGLang serialises it as the triple {@code [logprob, token_id, text|null]}. */
public record TokenLogprob(float logprob, int tokenId) {
}
