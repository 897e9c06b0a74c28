/**
 * Text ⇄ token ids through DJL's binding of Hugging Face tokenizers, streaming detokenization, and chat
 * templates rendered with Jinjava.
 */
package dev.tandem.tokenizer;
