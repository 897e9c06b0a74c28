package dev.tandem.grammar;

/**
 * A compiled constraint over bytes: a {@link Dfa} when the constraint is regular (every regex, and grammars and
 * schemas without recursion), a {@link Pda} when a rule or {@code $ref} refers to itself.
 */
public sealed interface Automaton permits Dfa, Pda {
    /** Automaton states in all (for logs and benchmarks). */
    int states();

    /** Whether the whole of {@code bytes} is in the language. */
    boolean matches(byte[] bytes);
}
