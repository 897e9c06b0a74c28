package dev.tandem.grammar;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Token masks of a {@link Pda} over one vocabulary. The mask of a position is the union over its stacks, and most
 * of a stack's mask depends only on its top frame: the tokens read while the top rule (and what it calls) is still
 * running. That part is computed once per (rule, state) by one walk of the vocabulary's byte trie and kept for every
 * later step and request; so are the trie nodes where the top rule completes inside a token ("escapes"). Only there
 * the frames under the top matter, and per step just those subtrees of the trie are walked again with the stacks
 * the context gives. Thread-safe (two threads racing on one frame compute the same entry).
 */
final class PdaMasks {
    private final Pda pda;
    private final Vocabulary vocab;
    private final ConcurrentHashMap<Long, Local> local = new ConcurrentHashMap<>();

    /** Tokens allowed from a top frame alone, and the trie nodes (with children) where that frame's rule ends. */
    private record Local(long[] mask, int[] escapes) {
    }

    PdaMasks(Pda pda, Vocabulary vocab) {
        this.pda = pda;
        this.vocab = vocab;
    }

    int cachedFrames() {
        return local.size();
    }

    /** The allowed-token bitset at {@code s}, EOS included where the text is complete. */
    long[] mask(Pda.Stacks s) {
        long[] m = new long[(vocab.size() + 63) >>> 6];
        for (Pda.Frame top : s.tops()) {
            Local l = local(top.rule, top.state);
            for (int w = 0; w < m.length; w++) {
                m[w] |= l.mask[w];
            }
            if (top.next != null && l.escapes.length > 0) {
                Pda.Stacks context = pda.expanded(top.next);
                for (int node : l.escapes) {
                    walk(node, context, m, null);
                }
            }
        }
        if (s.complete()) {
            for (int id : vocab.eosIds()) {
                m[id >>> 6] |= 1L << id;
            }
        }
        return m;
    }

    private Local local(int rule, int state) {
        long key = ((long) rule << 32) | state;
        Local l = local.get(key);
        if (l == null) {
            long[] m = new long[(vocab.size() + 63) >>> 6];
            IntList escapes = new IntList();
            walk(0, new Pda.Stacks(new Pda.Frame[] {new Pda.Frame(rule, state, null)}, false), m, escapes);
            l = new Local(m, escapes.toArray());
            Local raced = local.putIfAbsent(key, l);
            l = raced != null ? raced : l;
        }
        return l;
    }

    /**
     * Marks every token below trie node {@code node} that the stacks {@code at} admit; with {@code escapes}, the
     * stacks are one frame without context, and the nodes where it completes are collected instead of followed.
     */
    private void walk(int node, Pda.Stacks at, long[] m, IntList escapes) {
        for (int e = vocab.childStart[node]; e < vocab.childStart[node + 1]; e++) {
            Pda.Stacks t = pda.advance(at, vocab.edgeByte[e] & 0xFF);
            if (t.dead()) {
                continue;
            }
            int child = vocab.edgeChild[e];
            for (int id : vocab.endsAt[child]) {
                m[id >>> 6] |= 1L << id;
            }
            boolean deeper = vocab.childStart[child] < vocab.childStart[child + 1];
            if (t.complete() && escapes != null && deeper) {
                escapes.add(child);
            }
            if (t.tops().length > 0 && deeper) {
                walk(child, t, m, escapes);
            }
        }
    }

    private static final class IntList {
        private int[] a = new int[8];
        private int n;

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
