package dev.tandem.grammar;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A deterministic automaton over bytes, built from an {@link Rx} by Thompson's construction and the subset
 * construction, then trimmed: a transition into a state from which no accepting state is reachable is removed, so
 * every prefix the automaton admits can still be completed. State 0 is the start.
 */
public final class Dfa {
    static final int MAX_NFA_STATES = 400_000;
    static final int MAX_DFA_STATES = 50_000;
    private final int[] next;       // (states × 256), -1 = no transition
    private final boolean[] accepting;
    private final boolean[] hasOutgoing;

    private Dfa(int[] next, boolean[] accepting) {
        this.next = next;
        this.accepting = accepting;
        this.hasOutgoing = new boolean[accepting.length];
        for (int s = 0; s < accepting.length; s++) {
            for (int b = 0; b < 256 && !hasOutgoing[s]; b++) {
                hasOutgoing[s] = next[s * 256 + b] >= 0;
            }
        }
    }

    public int states() {
        return accepting.length;
    }

    /** The state after {@code b} (0..255) from {@code state}, or -1 when the byte is not allowed there. */
    public int next(int state, int b) {
        return next[state * 256 + b];
    }

    public boolean accepting(int state) {
        return accepting[state];
    }

    /** Whether any byte may follow in {@code state} (false: the output is complete). */
    public boolean hasOutgoing(int state) {
        return hasOutgoing[state];
    }

    /** Runs {@code bytes} from {@code state}: the end state, or -1. */
    public int walk(int state, byte[] bytes) {
        int s = state;
        for (int i = 0; i < bytes.length && s >= 0; i++) {
            s = next[s * 256 + (bytes[i] & 0xFF)];
        }
        return s;
    }

    /** Whether the whole of {@code bytes} is in the language. */
    public boolean matches(byte[] bytes) {
        int s = walk(0, bytes);
        return s >= 0 && accepting[s];
    }

    static Dfa compile(Rx rx) {
        Nfa nfa = new Nfa();
        int[] frag = nfa.build(rx);
        nfa.accept = frag[1];
        return determinize(nfa, frag[0]);
    }

    /** Thompson NFA: per state, byte-range edges and epsilon edges. */
    private static final class Nfa {
        final List<int[]> edges = new ArrayList<>();    // per state: lo, hi, target triples
        final List<int[]> eps = new ArrayList<>();
        final List<Integer> edgeCount = new ArrayList<>();
        final List<Integer> epsCount = new ArrayList<>();
        int accept;

        int state() {
            if (edges.size() >= MAX_NFA_STATES) {
                throw new GrammarException("the constraint is too large to compile (more than " + MAX_NFA_STATES
                        + " automaton states); lower repetition counts or maxLength/maxItems");
            }
            edges.add(new int[3]);
            eps.add(new int[1]);
            edgeCount.add(0);
            epsCount.add(0);
            return edges.size() - 1;
        }

        void edge(int from, int lo, int hi, int to) {
            int n = edgeCount.get(from);
            int[] e = edges.get(from);
            if (3 * n + 3 > e.length) {
                e = Arrays.copyOf(e, e.length * 2);
                edges.set(from, e);
            }
            e[3 * n] = lo;
            e[3 * n + 1] = hi;
            e[3 * n + 2] = to;
            edgeCount.set(from, n + 1);
        }

        void epsilon(int from, int to) {
            int n = epsCount.get(from);
            int[] e = eps.get(from);
            if (n + 1 > e.length) {
                e = Arrays.copyOf(e, e.length * 2);
                eps.set(from, e);
            }
            e[n] = to;
            epsCount.set(from, n + 1);
        }

        /** A fragment {start, end} for {@code rx}. */
        int[] build(Rx rx) {
            switch (rx) {
                case Rx.Chars c -> {
                    int start = state();
                    int end = state();
                    for (int i = 0; i < c.ranges().length; i += 2) {
                        for (int[] seq : Utf8Ranges.of(c.ranges()[i], c.ranges()[i + 1])) {
                            int at = start;
                            for (int k = 0; k < seq.length; k += 2) {
                                int to = k + 2 == seq.length ? end : state();
                                edge(at, seq[k], seq[k + 1], to);
                                at = to;
                            }
                        }
                    }
                    return new int[] {start, end};
                }
                case Rx.Seq s -> {
                    int start = state();
                    int at = start;
                    for (Rx item : s.items()) {
                        int[] f = build(item);
                        epsilon(at, f[0]);
                        at = f[1];
                    }
                    return new int[] {start, at};
                }
                case Rx.Alt a -> {
                    int start = state();
                    int end = state();
                    for (Rx item : a.items()) {
                        int[] f = build(item);
                        epsilon(start, f[0]);
                        epsilon(f[1], end);
                    }
                    return new int[] {start, end};
                }
                case Rx.Repeat r -> {
                    int start = state();
                    int at = start;
                    for (int i = 0; i < r.min(); i++) {
                        int[] f = build(r.node());
                        epsilon(at, f[0]);
                        at = f[1];
                    }
                    int end = state();
                    epsilon(at, end);
                    if (r.max() < 0) {
                        int[] f = build(r.node());
                        epsilon(at, f[0]);
                        epsilon(f[1], at);
                    } else {
                        for (int i = r.min(); i < r.max(); i++) {
                            int[] f = build(r.node());
                            epsilon(at, f[0]);
                            at = f[1];
                            epsilon(at, end);
                        }
                    }
                    return new int[] {start, end};
                }
            }
        }

        int[] closure(int[] set) {
            boolean[] seen = new boolean[edges.size()];
            ArrayDeque<Integer> todo = new ArrayDeque<>();
            int n = 0;
            int[] out = new int[16];
            for (int s : set) {
                if (!seen[s]) {
                    seen[s] = true;
                    todo.push(s);
                }
            }
            while (!todo.isEmpty()) {
                int s = todo.pop();
                if (n == out.length) {
                    out = Arrays.copyOf(out, n * 2);
                }
                out[n++] = s;
                int[] e = eps.get(s);
                for (int i = 0; i < epsCount.get(s); i++) {
                    if (!seen[e[i]]) {
                        seen[e[i]] = true;
                        todo.push(e[i]);
                    }
                }
            }
            // Only states with byte edges (or the accept state) tell DFA states apart.
            int m = 0;
            for (int i = 0; i < n; i++) {
                if (edgeCount.get(out[i]) > 0 || out[i] == accept) {
                    out[m++] = out[i];
                }
            }
            int[] r = Arrays.copyOf(out, m);
            Arrays.sort(r);
            return r;
        }
    }

    private record Key(int[] set) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(set, k.set);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(set);
        }
    }

    private static Dfa determinize(Nfa nfa, int start) {
        Map<Key, Integer> ids = new HashMap<>();
        List<int[]> sets = new ArrayList<>();
        int[] init = nfa.closure(new int[] {start});
        ids.put(new Key(init), 0);
        sets.add(init);
        int[] trans = new int[256 * 64];
        List<int[]> moves = new ArrayList<>(256);
        for (int d = 0; d < sets.size(); d++) {
            if (sets.size() > MAX_DFA_STATES) {
                throw new GrammarException("the constraint is too large to compile (more than " + MAX_DFA_STATES
                        + " automaton states); lower repetition counts or maxLength/maxItems");
            }
            if (trans.length < (d + 1) * 256) {
                trans = Arrays.copyOf(trans, Math.max(trans.length * 2, (d + 1) * 256));
            }
            int[][] targets = new int[256][];
            int[] counts = new int[256];
            for (int s : sets.get(d)) {
                int[] e = nfa.edges.get(s);
                for (int i = 0; i < nfa.edgeCount.get(s); i++) {
                    for (int b = e[3 * i]; b <= e[3 * i + 1]; b++) {
                        if (targets[b] == null) {
                            targets[b] = new int[4];
                        } else if (counts[b] == targets[b].length) {
                            targets[b] = Arrays.copyOf(targets[b], counts[b] * 2);
                        }
                        targets[b][counts[b]++] = e[3 * i + 2];
                    }
                }
            }
            for (int b = 0; b < 256; b++) {
                if (targets[b] == null) {
                    trans[d * 256 + b] = -1;
                    continue;
                }
                int[] set = nfa.closure(Arrays.copyOf(targets[b], counts[b]));
                Integer id = ids.get(new Key(set));
                if (id == null) {
                    id = sets.size();
                    ids.put(new Key(set), id);
                    sets.add(set);
                }
                trans[d * 256 + b] = id;
            }
        }
        int n = sets.size();
        boolean[] acc = new boolean[n];
        for (int d = 0; d < n; d++) {
            acc[d] = Arrays.binarySearch(sets.get(d), nfa.accept) >= 0;
        }
        return trim(Arrays.copyOf(trans, n * 256), acc);
    }

    /** Removes transitions into states that cannot reach an accepting state; renumbers the live ones. */
    private static Dfa trim(int[] trans, boolean[] acc) {
        int n = acc.length;
        List<List<Integer>> back = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            back.add(new ArrayList<>());
        }
        for (int s = 0; s < n; s++) {
            for (int b = 0; b < 256; b++) {
                int t = trans[s * 256 + b];
                if (t >= 0) {
                    back.get(t).add(s);
                }
            }
        }
        boolean[] live = new boolean[n];
        ArrayDeque<Integer> todo = new ArrayDeque<>();
        for (int s = 0; s < n; s++) {
            if (acc[s]) {
                live[s] = true;
                todo.push(s);
            }
        }
        while (!todo.isEmpty()) {
            for (int p : back.get(todo.pop())) {
                if (!live[p]) {
                    live[p] = true;
                    todo.push(p);
                }
            }
        }
        if (!live[0]) {
            throw new GrammarException("the constraint matches no output at all");
        }
        int[] renum = new int[n];
        int m = 0;
        for (int s = 0; s < n; s++) {
            renum[s] = live[s] ? m++ : -1;
        }
        int[] out = new int[m * 256];
        boolean[] outAcc = new boolean[m];
        for (int s = 0; s < n; s++) {
            if (!live[s]) {
                continue;
            }
            outAcc[renum[s]] = acc[s];
            for (int b = 0; b < 256; b++) {
                int t = trans[s * 256 + b];
                out[renum[s] * 256 + b] = t >= 0 ? renum[t] : -1;
            }
        }
        return new Dfa(out, outAcc);
    }
}
