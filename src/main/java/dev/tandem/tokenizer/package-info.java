/**
 * Text ⇄ token ids through DJL's binding of Hugging Face tokenizers, the bytes each token id stands for
 * ({@code TokenBytes}, {@code DecodeTable}), streaming detokenization over those bytes without allocating per token
 * (with the library as the fallback for decoders not modelled), and chat templates rendered with Jinjava.
 */
package dev.tandem.tokenizer;
