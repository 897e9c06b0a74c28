package dev.tandem.grammar;

import java.util.List;

/**
 * A regular expression over Unicode code points, the common form every constraint compiles to before it becomes a
 * byte automaton.
 */
sealed interface Rx {
    /** Any code point in the sorted, disjoint inclusive ranges {@code [lo0, hi0, lo1, hi1, ...]}. */
    record Chars(int[] ranges) implements Rx {
    }

    record Seq(List<Rx> items) implements Rx {
    }

    record Alt(List<Rx> items) implements Rx {
    }

    /** {@code node} repeated {@code min} to {@code max} times; {@code max} -1 for unbounded. */
    record Repeat(Rx node, int min, int max) implements Rx {
    }

    /** A call of grammar rule {@code rule} (an index into its rule set): how recursion is written. */
    record Call(int rule) implements Rx {
    }

    Rx EMPTY = new Seq(List.of());

    static Rx literal(String s) {
        return new Seq(s.codePoints().mapToObj(c -> (Rx) new Chars(new int[] {c, c})).toList());
    }

    static Rx seq(Rx... items) {
        return new Seq(List.of(items));
    }

    static Rx alt(Rx... items) {
        return new Alt(List.of(items));
    }

    static Rx optional(Rx r) {
        return new Repeat(r, 0, 1);
    }

    static Rx star(Rx r) {
        return new Repeat(r, 0, -1);
    }
}
