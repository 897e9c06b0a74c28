package dev.tandem.grammar;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A grammar as named rules whose bodies are {@link Rx} with {@link Rx.Call}s between them; rule 0 is the start.
 * Compiling decides the machine: rules that are not part of a recursion are inlined into their callers, and when no
 * recursive rule is left the whole grammar is one regular language, a {@link Dfa} (masks precomputed per state);
 * otherwise a {@link Pda} over the start rule and the recursive rules.
 */
final class Rules {
    private final List<String> names = new ArrayList<>();
    private final List<Rx> bodies = new ArrayList<>();
    private final Map<String, Integer> ids = new HashMap<>();

    /** A grammar of one rule, with no calls (a regex). */
    static Rules single(Rx rx) {
        Rules r = new Rules();
        r.define(r.declare("root"), rx);
        return r;
    }

    /** The id of rule {@code name}, declaring it (without a body yet) the first time. */
    int declare(String name) {
        Integer id = ids.get(name);
        if (id == null) {
            id = names.size();
            ids.put(name, id);
            names.add(name);
            bodies.add(null);
        }
        return id;
    }

    boolean has(String name) {
        return ids.containsKey(name);
    }

    boolean defined(int id) {
        return bodies.get(id) != null;
    }

    void define(int id, Rx body) {
        bodies.set(id, body);
    }

    Automaton compile() {
        int n = names.size();
        List<List<Integer>> callees = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            if (bodies.get(r) == null) {
                throw new IllegalStateException("rule '" + names.get(r) + "' has no body");
            }
            List<Integer> c = new ArrayList<>();
            collectCalls(bodies.get(r), c);
            callees.add(c);
        }
        boolean[] recursive = new boolean[n];
        for (int r = 0; r < n; r++) {
            recursive[r] = reaches(callees, r, r);
        }
        // Kept as rules: the start and every recursive rule the start can reach; the rest are inlined.
        int[] kept = new int[n];
        java.util.Arrays.fill(kept, -1);
        List<Integer> order = new ArrayList<>();
        kept[0] = 0;
        order.add(0);
        for (int r = 1; r < n; r++) {
            if (recursive[r] && reaches(callees, 0, r)) {
                kept[r] = order.size();
                order.add(r);
            }
        }
        Map<Integer, Rx> inlined = new HashMap<>();
        if (order.size() == 1 && !recursive[0]) {
            return Dfa.compile(inline(bodies.get(0), kept, inlined));
        }
        List<String> keptNames = new ArrayList<>();
        List<Rx> keptBodies = new ArrayList<>();
        for (int r : order) {
            keptNames.add(names.get(r));
            keptBodies.add(inline(bodies.get(r), kept, inlined));
        }
        return Pda.compile(keptNames, keptBodies);
    }

    private Rx inline(Rx rx, int[] kept, Map<Integer, Rx> inlined) {
        return switch (rx) {
            case Rx.Chars c -> c;
            case Rx.Call c -> {
                if (kept[c.rule()] >= 0) {
                    yield new Rx.Call(kept[c.rule()]);
                }
                Rx done = inlined.get(c.rule());
                if (done == null) {
                    done = inline(bodies.get(c.rule()), kept, inlined); // shared: the NFA expands it per use
                    inlined.put(c.rule(), done);
                }
                yield done;
            }
            case Rx.Seq s -> new Rx.Seq(s.items().stream().map(i -> inline(i, kept, inlined)).toList());
            case Rx.Alt a -> new Rx.Alt(a.items().stream().map(i -> inline(i, kept, inlined)).toList());
            case Rx.Repeat p -> new Rx.Repeat(inline(p.node(), kept, inlined), p.min(), p.max());
        };
    }

    private static void collectCalls(Rx rx, List<Integer> out) {
        switch (rx) {
            case Rx.Chars c -> {
            }
            case Rx.Call c -> {
                if (!out.contains(c.rule())) {
                    out.add(c.rule());
                }
            }
            case Rx.Seq s -> s.items().forEach(i -> collectCalls(i, out));
            case Rx.Alt a -> a.items().forEach(i -> collectCalls(i, out));
            case Rx.Repeat p -> collectCalls(p.node(), out);
        }
    }

    /** Whether {@code to} is reachable from {@code from} by one or more calls. */
    private static boolean reaches(List<List<Integer>> callees, int from, int to) {
        boolean[] seen = new boolean[callees.size()];
        java.util.ArrayDeque<Integer> todo = new java.util.ArrayDeque<>(callees.get(from));
        while (!todo.isEmpty()) {
            int r = todo.pop();
            if (r == to) {
                return true;
            }
            if (!seen[r]) {
                seen[r] = true;
                todo.addAll(callees.get(r));
            }
        }
        return false;
    }
}
