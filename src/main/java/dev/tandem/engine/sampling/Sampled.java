package dev.tandem.engine.sampling;

import java.util.List;

/**
 * The token picked at one step, its log-probability and the {@code top_logprobs_num} most likely alternatives.
 * Log-probabilities are those of the distribution sampled from (after penalties and temperature, before top-k/p
 * truncation), as SGLang's sampler reports them; greedy uses the plain log-softmax.
 */
public record Sampled(int tokenId, float logprob, List<TokenLogprob> top) {
}
