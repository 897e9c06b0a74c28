/**
 * Tandem: LLM serving with prefill/decode disaggregation on the JVM. {@link dev.tandem.Main} dispatches the
 * subcommands; the packages below follow docs/ARCHITECTURE: pure layers ({@code engine}, {@code tokenizer},
 * {@code kvcache}, {@code config}, {@code modelgen}) import nothing from Vert.x.
 */
package dev.tandem;
