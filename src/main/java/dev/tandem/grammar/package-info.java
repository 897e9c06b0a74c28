/**
 * Structured outputs: SGLang's {@code regex}, {@code json_schema} and {@code ebnf} constraints and OpenAI's
 * {@code response_format} compiled to one representation, a deterministic finite automaton over UTF-8 bytes
 * ({@link dev.tandem.grammar.Dfa}), and from it a per-step mask over a tokenizer's vocabulary
 * ({@link dev.tandem.grammar.TokenGrammar}, {@link dev.tandem.grammar.GrammarMatcher}). Tokens are byte strings, so a
 * token that ends inside a UTF-8 sequence (byte-level BPE, byte fallback) is judged exactly. Recursive grammars
 * (GBNF rules, JSON Schema {@code $ref}, {@code json_object} to any depth) compile to a pushdown automaton instead
 * ({@link dev.tandem.grammar.Pda}: one byte automaton per rule, a set of stacks as the position), whose masks are
 * cached per top frame ({@code PdaMasks}); {@code Rules} picks the machine. Pure: no Vert.x.
 */
package dev.tandem.grammar;
