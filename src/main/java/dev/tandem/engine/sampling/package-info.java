/**
 * Sampling and log-probabilities with SGLang's parameters: greedy, temperature, top-k/p, min-p, penalties,
 * seeded per-request randomness, stop-id masking for min_new_tokens.
 */
package dev.tandem.engine.sampling;
