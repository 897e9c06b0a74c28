/**
 * The model engine: load a Hugging Face model, run the forward pass over ragged batches with a paged KV cache,
 * sample. {@link dev.tandem.engine.Generator} runs one request end to end for the command line and tests.
 */
package dev.tandem.engine;
