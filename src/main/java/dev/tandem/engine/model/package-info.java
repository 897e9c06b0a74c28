/**
 * The Llama-family decoder: {@link dev.tandem.engine.model.ModelConfig} from config.json, RoPE, and
 * {@link dev.tandem.engine.model.Transformer}, which runs a ragged batch of
 * {@link dev.tandem.engine.model.SequenceChunk}s against a paged KV cache (the per-row steps between its kernels,
 * norms, RoPE and K/V writes, in {@code RowSteps}, run over the rows by the backend's threads), and
 * {@link dev.tandem.engine.model.Warmup}, which runs its hot paths once at worker start-up, and
 * {@link dev.tandem.engine.model.PhaseClock}, the forward pass's per-phase timing (off unless a benchmark asks).
 */
package dev.tandem.engine.model;
