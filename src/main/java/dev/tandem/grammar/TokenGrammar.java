package dev.tandem.grammar;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A compiled constraint over one vocabulary: the byte automaton plus, per automaton state, the set of tokens
 * allowed there, computed the first time a request reaches that state and kept for every later request with the
 * same constraint. Thread-safe: masks are published through an atomic array (two threads racing on one state
 * compute the same mask).
 */
public final class TokenGrammar {
    private final GrammarSpec spec;
    private final Dfa dfa;
    private final Vocabulary vocab;
    private final AtomicReferenceArray<long[]> masks;

    public TokenGrammar(GrammarSpec spec, Dfa dfa, Vocabulary vocab) {
        this.spec = spec;
        this.dfa = dfa;
        this.vocab = vocab;
        this.masks = new AtomicReferenceArray<>(dfa.states());
    }

    public GrammarSpec spec() {
        return spec;
    }

    public Dfa dfa() {
        return dfa;
    }

    public Vocabulary vocabulary() {
        return vocab;
    }

    /** The allowed-token bitset of {@code state} (bit {@code id} set: allowed), EOS included where accepting. */
    long[] mask(int state) {
        long[] m = masks.get(state);
        if (m == null) {
            m = new long[(vocab.size() + 63) >>> 6];
            vocab.allowed(dfa, state, m);
            if (dfa.accepting(state)) {
                for (int id : vocab.eosIds()) {
                    m[id >>> 6] |= 1L << id;
                }
            }
            masks.compareAndSet(state, null, m);
            m = masks.get(state);
        }
        return m;
    }

    /** States whose mask has been computed so far (for tests and metrics). */
    public int maskedStates() {
        int n = 0;
        for (int i = 0; i < masks.length(); i++) {
            n += masks.get(i) != null ? 1 : 0;
        }
        return n;
    }

    /** A fresh matcher at the start state. */
    public GrammarMatcher matcher() {
        return new GrammarMatcher(this);
    }
}
