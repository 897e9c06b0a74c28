package dev.tandem.grammar;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A compiled constraint over one vocabulary. For a regular constraint: the byte automaton plus, per automaton state,
 * the set of tokens allowed there, computed the first time a request reaches that state and kept for every later
 * request with the same constraint. For a recursive one: the pushdown automaton and its {@link PdaMasks} (the part of
 * each mask that depends on the top frame only is kept the same way). Thread-safe: masks are published through an
 * atomic array or a concurrent map (two threads racing on one state compute the same mask).
 */
public final class TokenGrammar {
    private final GrammarSpec spec;
    private final Dfa dfa;
    private final Pda pda;
    private final PdaMasks pdaMasks;
    private final Vocabulary vocab;
    private final AtomicReferenceArray<long[]> masks;

    public TokenGrammar(GrammarSpec spec, Automaton automaton, Vocabulary vocab) {
        this.spec = spec;
        this.vocab = vocab;
        switch (automaton) {
            case Dfa d -> {
                this.dfa = d;
                this.pda = null;
                this.pdaMasks = null;
                this.masks = new AtomicReferenceArray<>(d.states());
            }
            case Pda p -> {
                this.dfa = null;
                this.pda = p;
                this.pdaMasks = new PdaMasks(p, vocab);
                this.masks = null;
            }
        }
    }

    public GrammarSpec spec() {
        return spec;
    }

    /** The byte automaton of a regular constraint; null for a recursive one (see {@link #pda()}). */
    public Dfa dfa() {
        return dfa;
    }

    /** The pushdown automaton of a recursive constraint; null for a regular one. */
    public Pda pda() {
        return pda;
    }

    public Automaton automaton() {
        return dfa != null ? dfa : pda;
    }

    public Vocabulary vocabulary() {
        return vocab;
    }

    PdaMasks pdaMasks() {
        return pdaMasks;
    }

    /** The allowed-token bitset of DFA {@code state} (bit {@code id} set: allowed), EOS included where accepting. */
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

    /** States (DFA) or top frames (PDA) whose mask has been computed so far (for tests and metrics). */
    public int maskedStates() {
        if (pdaMasks != null) {
            return pdaMasks.cachedFrames();
        }
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
