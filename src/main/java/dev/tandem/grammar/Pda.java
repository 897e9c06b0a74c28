package dev.tandem.grammar;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * A pushdown automaton for recursive grammars: one byte automaton per rule ({@link Dfa} with call edges), and as the
 * position in a text a set of stacks ({@link Stacks}). A stack is a persistent list of frames (rule, state), its top
 * the frame that reads the next byte, the frames under it the states to return to when the rule above completes.
 * Stacks are kept in a normal form where every top has a byte edge: calls are pushed and completed rules popped
 * eagerly. Rules that cannot complete and states that cannot reach acceptance are trimmed away at compile time, so
 * every stack can be completed and every admitted prefix extended to a whole text. Left recursion (a rule that can
 * call itself before reading a byte) is refused, as in llama.cpp's GBNF; so is a grammar whose stack set grows past
 * {@link #MAX_STACKS} on a probe of its widest path (a clear error at compile time rather than a slow matcher).
 */
public final class Pda implements Automaton {
    static final int MAX_STACKS = 128;
    static final int MAX_DEPTH = 4096;
    static final int PROBE_BYTES = 200;
    private final String[] names;
    private final Dfa[] rules;

    private Pda(String[] names, Dfa[] rules) {
        this.names = names;
        this.rules = rules;
    }

    /** A stack: the top frame and, through {@code next}, the frames under it (null at the bottom). Immutable. */
    static final class Frame {
        final int rule;
        final int state;
        final Frame next;
        final int depth;
        private final int hash;

        Frame(int rule, int state, Frame next) {
            this.rule = rule;
            this.state = state;
            this.next = next;
            this.depth = next == null ? 1 : next.depth + 1;
            this.hash = 31 * (31 * rule + state) + (next == null ? 0 : next.hash);
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof Frame f) || f.hash != hash || f.depth != depth) {
                return false;
            }
            Frame a = this;
            Frame b = f;
            while (a != b) {
                if (a.rule != b.rule || a.state != b.state) {
                    return false;
                }
                a = a.next;
                b = b.next;
            }
            return true;
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /**
     * A position: the normalized stacks (each top has a byte edge) and whether the text so far is complete (the start
     * rule can end here). No stacks and not complete: the text left the language.
     */
    record Stacks(Frame[] tops, boolean complete) {
        boolean dead() {
            return tops.length == 0 && !complete;
        }
    }

    @Override
    public int states() {
        int n = 0;
        for (Dfa d : rules) {
            n += d.states();
        }
        return n;
    }

    public int rules() {
        return rules.length;
    }

    static Pda compile(List<String> names, List<Rx> bodies) {
        int n = names.size();
        Dfa.Raw[] raws = new Dfa.Raw[n];
        for (int r = 0; r < n; r++) {
            raws[r] = Dfa.determinize(bodies.get(r), n);
        }
        // A rule is usable when it can complete using only usable rules (least fixed point).
        boolean[] usable = new boolean[n];
        for (boolean changed = true; changed; ) {
            changed = false;
            for (int r = 0; r < n; r++) {
                if (!usable[r] && Dfa.live(raws[r], usable)[0]) {
                    usable[r] = changed = true;
                }
            }
        }
        if (!usable[0]) {
            throw new GrammarException("the constraint matches no output at all (rule '" + names.getFirst()
                    + "' can never complete)");
        }
        Dfa[] dfas = new Dfa[n];
        for (int r = 0; r < n; r++) {
            if (usable[r]) {
                dfas[r] = Dfa.trim(raws[r], usable);
            } else {
                dfas[r] = Dfa.compile(Rx.literal("")); // never called: trimming removed every call of it
            }
        }
        Pda p = new Pda(names.toArray(String[]::new), dfas);
        p.refuseLeftRecursion();
        p.probe();
        return p;
    }

    /** Rules that can complete without reading a byte. */
    private boolean[] nullable() {
        boolean[] nullable = new boolean[rules.length];
        for (boolean changed = true; changed; ) {
            changed = false;
            for (int r = 0; r < rules.length; r++) {
                if (!nullable[r] && !emptyReach(r, nullable).isEmpty() && emptyReachAccepts(r, nullable)) {
                    nullable[r] = changed = true;
                }
            }
        }
        return nullable;
    }

    /** States of rule r reachable from its start through calls of nullable rules only (no byte read). */
    private List<Integer> emptyReach(int r, boolean[] nullable) {
        List<Integer> seen = new ArrayList<>(List.of(0));
        for (int i = 0; i < seen.size(); i++) {
            int[] c = rules[r].calls(seen.get(i));
            for (int k = 0; k < c.length; k += 2) {
                if (nullable[c[k]] && !seen.contains(c[k + 1])) {
                    seen.add(c[k + 1]);
                }
            }
        }
        return seen;
    }

    private boolean emptyReachAccepts(int r, boolean[] nullable) {
        for (int s : emptyReach(r, nullable)) {
            if (rules[r].accepting(s)) {
                return true;
            }
        }
        return false;
    }

    private void refuseLeftRecursion() {
        boolean[] nullable = nullable();
        List<List<Integer>> left = new ArrayList<>();
        for (int r = 0; r < rules.length; r++) {
            List<Integer> l = new ArrayList<>();
            for (int s : emptyReach(r, nullable)) {
                int[] c = rules[r].calls(s);
                for (int k = 0; k < c.length; k += 2) {
                    l.add(c[k]);
                }
            }
            left.add(l);
        }
        for (int r = 0; r < rules.length; r++) {
            List<String> path = leftPath(left, r);
            if (path != null) {
                throw new GrammarException("rule '" + names[r] + "' is left-recursive (" + String.join(" -> ", path)
                        + " before reading any character), which is not supported: put something before the "
                        + "recursive call, e.g. write 'x ::= y (\"+\" y)*' instead of 'x ::= x \"+\" y | y'");
            }
        }
    }

    private List<String> leftPath(List<List<Integer>> left, int r) {
        ArrayDeque<List<Integer>> todo = new ArrayDeque<>();
        boolean[] seen = new boolean[rules.length];
        todo.add(List.of(r));
        while (!todo.isEmpty()) {
            List<Integer> p = todo.poll();
            for (int q : left.get(p.getLast())) {
                List<Integer> np = new ArrayList<>(p);
                np.add(q);
                if (q == r) {
                    return np.stream().map(i -> names[i]).toList();
                }
                if (!seen[q]) {
                    seen[q] = true;
                    todo.add(np);
                }
            }
        }
        return null;
    }

    /**
     * Follows the byte that leaves the most stacks, for {@link #PROBE_BYTES} bytes: an ambiguous grammar (one text,
     * many parses) shows itself as a growing stack set, and is refused here with the text that made it grow.
     */
    private void probe() {
        Stacks s = start();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < PROBE_BYTES; i++) {
            Stacks best = null;
            int bestByte = -1;
            for (int b = 0; b < 256; b++) {
                if (!anyByteEdge(s, b)) {
                    continue;
                }
                Stacks t;
                try {
                    t = advance(s, b);
                } catch (GrammarException e) {
                    throw new GrammarException(e.getMessage() + " after the text '" + text + (char) b + "'");
                }
                if (best == null || t.tops().length > best.tops().length) {
                    best = t;
                    bestByte = b;
                }
            }
            if (best == null || best.tops().length == 0) {
                return;
            }
            s = best;
            text.append(bestByte >= 0x20 && bestByte < 0x7F ? String.valueOf((char) bestByte)
                    : String.format("\\x%02x", bestByte));
        }
    }

    private boolean anyByteEdge(Stacks s, int b) {
        for (Frame f : s.tops()) {
            if (rules[f.rule].next(f.state, b) >= 0) {
                return true;
            }
        }
        return false;
    }

    private static final Stacks DEAD = new Stacks(new Frame[0], false);

    /** The position before any byte. */
    Stacks start() {
        return expanded(new Frame(0, 0, null));
    }

    /** The normalized stacks of one (not normalized) stack: pushes its calls, pops completed rules. */
    Stacks expanded(Frame f) {
        LinkedHashSet<Frame> out = new LinkedHashSet<>();
        boolean[] complete = {false};
        expand(f, out, new HashSet<>(), complete);
        return new Stacks(out.toArray(Frame[]::new), complete[0]);
    }

    /** The position after byte {@code b}; throws {@link GrammarException} when the stacks grow past the bounds. */
    Stacks advance(Stacks s, int b) {
        if (s.tops().length == 1) {
            // The common case (one parse, inside a rule): a state with no call and no end is its own normal form.
            Frame f = s.tops()[0];
            Dfa d = rules[f.rule];
            int t = d.next(f.state, b);
            if (t < 0) {
                return DEAD;
            }
            if (d.calls(t).length == 0 && !d.accepting(t)) {
                return new Stacks(new Frame[] {new Frame(f.rule, t, f.next)}, false);
            }
        }
        LinkedHashSet<Frame> out = new LinkedHashSet<>();
        HashSet<Frame> seen = new HashSet<>();
        boolean[] complete = {false};
        for (Frame f : s.tops()) {
            int t = rules[f.rule].next(f.state, b);
            if (t >= 0) {
                expand(new Frame(f.rule, t, f.next), out, seen, complete);
            }
        }
        return new Stacks(out.toArray(Frame[]::new), complete[0]);
    }

    /** The position after {@code bytes}, or a dead one as soon as a byte is not allowed. */
    Stacks advance(Stacks s, byte[] bytes) {
        Stacks at = s;
        for (int i = 0; i < bytes.length; i++) {
            at = advance(at, bytes[i] & 0xFF);
            if (at.tops().length == 0) {
                return i == bytes.length - 1 ? at : new Stacks(at.tops(), false);
            }
        }
        return at;
    }

    private void expand(Frame f, LinkedHashSet<Frame> out, HashSet<Frame> seen, boolean[] complete) {
        if (f == null) {
            complete[0] = true;
            return;
        }
        if (!seen.add(f)) {
            return;
        }
        if (f.depth > MAX_DEPTH) {
            throw new GrammarException("the grammar nests deeper than " + MAX_DEPTH + " rules");
        }
        Dfa d = rules[f.rule];
        if (d.hasOutgoing(f.state)) {
            out.add(f);
            if (out.size() > MAX_STACKS) {
                throw new GrammarException("the grammar is too ambiguous: more than " + MAX_STACKS
                        + " parse stacks at once (rule '" + names[f.rule] + "')");
            }
        }
        int[] c = d.calls(f.state);
        for (int k = 0; k < c.length; k += 2) {
            expand(new Frame(c[k], 0, new Frame(f.rule, c[k + 1], f.next)), out, seen, complete);
        }
        if (d.accepting(f.state)) {
            expand(f.next, out, seen, complete);
        }
    }

    /** Whether the whole of {@code bytes} is in the language. */
    public boolean matches(byte[] bytes) {
        Stacks s = advance(start(), bytes);
        return s.complete();
    }

    @Override
    public String toString() {
        return "Pda" + Arrays.toString(names);
    }
}
