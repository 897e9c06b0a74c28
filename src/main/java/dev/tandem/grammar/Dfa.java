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
 * every prefix the automaton admits can still be completed. State 0 is the start. As one rule of a {@link Pda} it
 * also has call edges (call rule q, then continue in a target state), determinized like bytes, each its own symbol.
 */
public final class Dfa implements Automaton {
    static final int MAX_NFA_STATES = 400_000;
    static final int MAX_DFA_STATES = 50_000;
    private static final int[] NO_CALLS = new int[0];
    private final int[] next;       // (states × 256), -1 = no transition
    private final boolean[] accepting;
    private final boolean[] hasOutgoing;
    private final int[][] calls;    // per state: rule, target pairs

    private Dfa(int[] next, boolean[] accepting, int[][] calls) {
        this.next = next;
        this.accepting = accepting;
        this.calls = calls;
        this.hasOutgoing = new boolean[accepting.length];
        for (int s = 0; s < accepting.length; s++) {
            for (int b = 0; b < 256 && !hasOutgoing[s]; b++) {
                hasOutgoing[s] = next[s * 256 + b] >= 0;
            }
        }
    }

    /** The call edges of {@code state}: {@code rule, target} pairs (empty outside a pushdown automaton). */
    int[] calls(int state) {
        return calls[state];
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

    /** Whether any byte may follow in {@code state} (false: the output is complete, or only a call may follow). */
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
        Raw raw = determinize(rx, 0);
        Dfa d = trim(raw, new boolean[0]);
        if (d == null) {
            throw new GrammarException("the constraint matches no output at all");
        }
        return d;
    }

    /**
     * The untrimmed automaton of one rule whose calls name rules {@code 0 .. rules - 1}: symbol {@code b < 256} is a
     * byte, {@code 256 + q} a call of rule q.
     */
    record Raw(int[] trans, boolean[] acc, int width) {
        int states() {
            return acc.length;
        }
    }

    static Raw determinize(Rx rx, int rules) {
        Nfa nfa = new Nfa();
        nfa.rules = rules;
        int[] frag = nfa.build(rx);
        nfa.accept = frag[1];
        return determinize(nfa, frag[0], 256 + rules);
    }

    /** Thompson NFA: per state, byte-range edges and epsilon edges. */
    private static final class Nfa {
        final List<int[]> edges = new ArrayList<>();    // per state: lo, hi, target triples
        final List<int[]> eps = new ArrayList<>();
        final List<Integer> edgeCount = new ArrayList<>();
        final List<Integer> epsCount = new ArrayList<>();
        int accept;
        int rules;

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
                case Rx.Call c -> {
                    if (c.rule() < 0 || c.rule() >= rules) {
                        throw new IllegalStateException("call of rule " + c.rule() + " outside a rule set");
                    }
                    int start = state();
                    int end = state();
                    edge(start, 256 + c.rule(), 256 + c.rule(), end);
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

    private static Raw determinize(Nfa nfa, int start, int width) {
        Map<Key, Integer> ids = new HashMap<>();
        List<int[]> sets = new ArrayList<>();
        int[] init = nfa.closure(new int[] {start});
        ids.put(new Key(init), 0);
        sets.add(init);
        int[] trans = new int[width * 64];
        for (int d = 0; d < sets.size(); d++) {
            if (sets.size() > MAX_DFA_STATES) {
                throw new GrammarException("the constraint is too large to compile (more than " + MAX_DFA_STATES
                        + " automaton states); lower repetition counts or maxLength/maxItems");
            }
            if (trans.length < (d + 1) * width) {
                trans = Arrays.copyOf(trans, Math.max(trans.length * 2, (d + 1) * width));
            }
            int[][] targets = new int[width][];
            int[] counts = new int[width];
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
            for (int b = 0; b < width; b++) {
                if (targets[b] == null) {
                    trans[d * width + b] = -1;
                    continue;
                }
                int[] set = nfa.closure(Arrays.copyOf(targets[b], counts[b]));
                Integer id = ids.get(new Key(set));
                if (id == null) {
                    id = sets.size();
                    ids.put(new Key(set), id);
                    sets.add(set);
                }
                trans[d * width + b] = id;
            }
        }
        int n = sets.size();
        boolean[] acc = new boolean[n];
        for (int d = 0; d < n; d++) {
            acc[d] = Arrays.binarySearch(sets.get(d), nfa.accept) >= 0;
        }
        return new Raw(Arrays.copyOf(trans, n * width), acc, width);
    }

    /** Per state of {@code raw}: whether it can reach acceptance by bytes and calls of the rules marked usable. */
    static boolean[] live(Raw raw, boolean[] usable) {
        int n = raw.states();
        int w = raw.width();
        List<List<Integer>> back = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            back.add(new ArrayList<>());
        }
        for (int s = 0; s < n; s++) {
            for (int b = 0; b < w; b++) {
                int t = raw.trans()[s * w + b];
                if (t >= 0 && (b < 256 || usable[b - 256])) {
                    back.get(t).add(s);
                }
            }
        }
        boolean[] live = new boolean[n];
        ArrayDeque<Integer> todo = new ArrayDeque<>();
        for (int s = 0; s < n; s++) {
            if (raw.acc()[s]) {
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
        return live;
    }

    /**
     * Removes transitions into states that cannot reach an accepting state, and calls of rules not marked usable
     * (rules that cannot complete); renumbers the live ones. Null when the start state itself is dead.
     */
    static Dfa trim(Raw raw, boolean[] usable) {
        int n = raw.states();
        int w = raw.width();
        int[] trans = raw.trans();
        boolean[] live = live(raw, usable);
        if (!live[0]) {
            return null;
        }
        int[] renum = new int[n];
        int m = 0;
        for (int s = 0; s < n; s++) {
            renum[s] = live[s] ? m++ : -1;
        }
        int[] out = new int[m * 256];
        boolean[] outAcc = new boolean[m];
        int[][] outCalls = new int[m][];
        for (int s = 0; s < n; s++) {
            if (!live[s]) {
                continue;
            }
            outAcc[renum[s]] = raw.acc()[s];
            for (int b = 0; b < 256; b++) {
                int t = trans[s * w + b];
                out[renum[s] * 256 + b] = t >= 0 ? renum[t] : -1;
            }
            int[] c = NO_CALLS;
            for (int q = 0; q + 256 < w; q++) {
                int t = trans[s * w + 256 + q];
                if (t >= 0 && usable[q] && live[t]) {
                    c = Arrays.copyOf(c, c.length + 2);
                    c[c.length - 2] = q;
                    c[c.length - 1] = renum[t];
                }
            }
            outCalls[renum[s]] = c;
        }
        return new Dfa(out, outAcc, outCalls);
    }
}
