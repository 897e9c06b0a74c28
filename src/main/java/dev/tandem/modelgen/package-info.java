/**
 * Generates complete Hugging Face model directories with deterministic random weights and a byte-level BPE
 * tokenizer, so tests and benchmarks need no downloaded model and nothing binary is committed.
 */
package dev.tandem.modelgen;
