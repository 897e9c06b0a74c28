/**
 * The Llama-family decoder: {@link dev.tandem.engine.model.ModelConfig} from config.json, RoPE, and
 * {@link dev.tandem.engine.model.Transformer}, which runs a ragged batch of
 * {@link dev.tandem.engine.model.SequenceChunk}s against a paged KV cache.
 */
package dev.tandem.engine.model;
