package dev.tandem.grammar;

/**
 * One request's position in its constraint: masks the logits before sampling and advances by each accepted token.
 * Rebuilt on another worker from the same constraint and the tokens so far (the PD decode worker replays the
 * prefill's first token). The position is a DFA state for a regular constraint, a set of stacks for a recursive one.
 * Not thread-safe: the scheduler thread owns it.
 */
public final class GrammarMatcher {
    private final TokenGrammar grammar;
    private int state;
    private Pda.Stacks stacks;
    private long[] stacksMask;      // the mask of the current stacks, computed at most once per position
    private boolean terminated;
    private String failure;

    GrammarMatcher(TokenGrammar grammar) {
        this.grammar = grammar;
        if (grammar.pda() != null) {
            try {
                stacks = grammar.pda().start();
            } catch (GrammarException e) {
                failure = e.getMessage();
                stacks = new Pda.Stacks(new Pda.Frame[0], false);
            }
        }
    }

    /** The DFA state (0 for a recursive constraint). */
    public int state() {
        return state;
    }

    /** Parse stacks at this position (1 for a regular constraint). */
    public int stacks() {
        return stacks == null ? 1 : stacks.tops().length;
    }

    /** Whether an EOS token was accepted where the constraint is complete. */
    public boolean terminated() {
        return terminated;
    }

    /** Why the matcher cannot go on (a recursive grammar outgrew its bounds), or null. */
    public String failure() {
        return failure;
    }

    private long[] currentMask() {
        if (stacks == null) {
            return grammar.mask(state);
        }
        if (stacksMask == null) {
            try {
                stacksMask = grammar.pdaMasks().mask(stacks);
            } catch (GrammarException e) {
                failure = e.getMessage();
                stacksMask = new long[(grammar.vocabulary().size() + 63) >>> 6];
            }
        }
        return stacksMask;
    }

    /** Whether {@code token} may come next. */
    public boolean allows(int token) {
        if (terminated || failure != null || token < 0 || token >= grammar.vocabulary().size()) {
            return false;
        }
        return (currentMask()[token >>> 6] & (1L << token)) != 0;
    }

    /**
     * Sets every logit whose token may not come next to negative infinity; false when no token is allowed at all
     * (only possible when the vocabulary cannot spell the rest, or has no EOS where the constraint is complete, or
     * a recursive grammar outgrew its bounds: see {@link #failure()}).
     */
    public boolean mask(float[] logits) {
        long[] m = currentMask();
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
        return any && !terminated && failure == null;
    }

    /** Advances by {@code token}; false (and no change) when the constraint does not allow it. */
    public boolean accept(int token) {
        if (terminated || failure != null || token < 0 || token >= grammar.vocabulary().size()) {
            return false;
        }
        if (grammar.vocabulary().isEos(token)) {
            if (!(stacks == null ? grammar.dfa().accepting(state) : stacks.complete())) {
                return false;
            }
            terminated = true;
            return true;
        }
        byte[] bytes = grammar.vocabulary().bytes(token);
        if (bytes == null) {
            return false;
        }
        if (stacks == null) {
            int next = grammar.dfa().walk(state, bytes);
            if (next < 0) {
                return false;
            }
            state = next;
            return true;
        }
        Pda.Stacks next;
        try {
            next = grammar.pda().advance(stacks, bytes);
        } catch (GrammarException e) {
            failure = e.getMessage();
            return false;
        }
        if (next.dead()) {
            return false;
        }
        stacks = next;
        stacksMask = null;
        return true;
    }

    /** The constraint is complete and nothing may follow but EOS. */
    public boolean complete() {
        if (stacks != null) {
            return stacks.complete() && stacks.tops().length == 0;
        }
        return grammar.dfa().accepting(state) && !grammar.dfa().hasOutgoing(state);
    }
}
