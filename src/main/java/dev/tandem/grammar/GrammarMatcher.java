package dev.tandem.grammar;

/**
 * One request's position in its constraint: masks the logits before sampling and advances by each accepted token.
 * Rebuilt on another worker from the same constraint and the tokens so far (the PD decode worker replays the
 * prefill's first token). Not thread-safe: the scheduler thread owns it.
 */
public final class GrammarMatcher {
    private final TokenGrammar grammar;
    private int state;
    private boolean terminated;

    GrammarMatcher(TokenGrammar grammar) {
        this.grammar = grammar;
    }

    public int state() {
        return state;
    }

    /** Whether an EOS token was accepted where the constraint is complete. */
    public boolean terminated() {
        return terminated;
    }

    /** Whether {@code token} may come next. */
    public boolean allows(int token) {
        if (terminated || token < 0 || token >= grammar.vocabulary().size()) {
            return false;
        }
        return (grammar.mask(state)[token >>> 6] & (1L << token)) != 0;
    }

    /**
     * Sets every logit whose token may not come next to negative infinity; false when no token is allowed at all
     * (only possible when the vocabulary cannot spell the rest, or has no EOS where the constraint is complete).
     */
    public boolean mask(float[] logits) {
        long[] m = grammar.mask(state);
        int n = Math.min(logits.length, grammar.vocabulary().size());
        boolean any = false;
        for (int w = 0; w < m.length; w++) {
            long bits = m[w];
            any |= bits != 0;
            int base = w << 6;
            int end = Math.min(base + 64, n);
            if (bits == -1L || base >= end) {
                continue;
            }
            if (bits == 0) {
                java.util.Arrays.fill(logits, base, end, Float.NEGATIVE_INFINITY); // most words under a constraint
                continue;
            }
            for (long off = ~bits; off != 0; off &= off - 1) {
                int id = base + Long.numberOfTrailingZeros(off);
                if (id >= end) {
                    break;
                }
                logits[id] = Float.NEGATIVE_INFINITY;
            }
        }
        for (int id = n; id < logits.length; id++) {
            logits[id] = Float.NEGATIVE_INFINITY;
        }
        return any && !terminated;
    }

    /** Advances by {@code token}; false (and no change) when the constraint does not allow it. */
    public boolean accept(int token) {
        if (!allows(token)) {
            return false;
        }
        if (grammar.vocabulary().isEos(token)) {
            terminated = true;
            return true;
        }
        state = grammar.dfa().walk(state, grammar.vocabulary().bytes(token));
        return true;
    }

    /** The constraint is complete and nothing may follow but EOS. */
    public boolean complete() {
        return grammar.dfa().accepting(state) && !grammar.dfa().hasOutgoing(state);
    }
}
