package dev.tandem.scheduler;

import java.util.List;

/**
 * A request's stop strings, compiled once (off the scheduler thread) so that matching them costs time linear in the
 * output: each string gets its Knuth–Morris–Pratt failure table, and each request a {@link Scan} that is fed only
 * the newly decoded text. Rescanning the text on every step, or testing every suffix against every prefix for the
 * hold-back, is quadratic in the output and lets one client with long stop strings stall every other client of the
 * scheduler thread.
 *
 * <p>Immutable and shared by the items of one request (batch items, {@code n} copies).
 */
public final class StopStrings {
    public static final StopStrings NONE = new StopStrings(List.of());

    private final List<String> strings;
    private final int[][] fail; // fail[p][i]: length of the longest proper border of strings[p][0..i]

    private StopStrings(List<String> strings) {
        this.strings = List.copyOf(strings);
        this.fail = new int[this.strings.size()][];
        for (int p = 0; p < fail.length; p++) {
            fail[p] = failureTable(this.strings.get(p));
        }
    }

    /** Compiles {@code stops} (empty strings must have been removed: they would match everywhere). */
    public static StopStrings of(List<String> stops) {
        if (stops == null || stops.isEmpty()) {
            return NONE;
        }
        for (String s : stops) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop: empty stop string");
            }
        }
        return new StopStrings(stops);
    }

    public List<String> strings() {
        return strings;
    }

    public boolean isEmpty() {
        return strings.isEmpty();
    }

    /** A fresh scan over a text that starts empty. */
    Scan scan() {
        return new Scan();
    }

    private static int[] failureTable(String s) {
        int[] f = new int[s.length()];
        int k = 0;
        for (int i = 1; i < s.length(); i++) {
            while (k > 0 && s.charAt(i) != s.charAt(k)) {
                k = f[k - 1];
            }
            if (s.charAt(i) == s.charAt(k)) {
                k++;
            }
            f[i] = k;
        }
        return f;
    }

    /**
     * One request's position in every stop string: for each, how many of its first characters the text ends with.
     * Not thread-safe (the scheduler thread owns it).
     */
    final class Scan {
        private final int[] state = new int[strings.size()];
        private int matchStart = -1;
        private long examined;

        /**
         * Feeds {@code text[from, text.length())}, the characters appended since the last call. When {@code report}
         * is set, returns the index of the stop string whose occurrence ending in the fed characters starts first
         * (ties: the earlier in the list), with {@link #matchStart()} its position; else, or when nothing matched,
         * -1. Occurrences are still tracked while {@code report} is off (before {@code min_new_tokens}), so one
         * that straddles the moment reporting starts is found.
         */
        int feed(CharSequence text, int from, boolean report) {
            int best = -1;
            int bestStart = Integer.MAX_VALUE;
            for (int p = 0; p < state.length; p++) {
                String s = strings.get(p);
                int[] f = fail[p];
                int m = s.length();
                int q = state[p];
                for (int i = from; i < text.length(); i++) {
                    if (q == m) {
                        q = f[m - 1]; // a whole match seen while not reporting: continue with its longest border
                    }
                    char c = text.charAt(i);
                    while (q > 0 && s.charAt(q) != c) {
                        q = f[q - 1];
                        examined++;
                    }
                    if (s.charAt(q) == c) {
                        q++;
                    }
                    examined++;
                    if (q == m && report) {
                        int start = i - m + 1;
                        if (start < bestStart) {
                            bestStart = start;
                            best = p;
                        }
                        break; // later occurrences of this string start later
                    }
                }
                state[p] = q;
            }
            matchStart = best < 0 ? -1 : bestStart;
            return best;
        }

        /** Where the match {@link #feed} last reported starts, -1 when none. */
        int matchStart() {
            return matchStart;
        }

        /**
         * Characters at the end of the text that could still grow into a stop string (the longest suffix that is a
         * proper prefix of one of them): released only once they cannot.
         */
        int holdBack() {
            int hold = 0;
            for (int p = 0; p < state.length; p++) {
                int q = state[p];
                int m = strings.get(p).length();
                hold = Math.max(hold, q == m ? fail[p][m - 1] : q);
            }
            return hold;
        }

        /**
         * Characters compared since the scan began (steps of the automata, advances and fall-backs): at most twice
         * the characters fed per stop string, the bound the tests hold the matcher to.
         */
        long examined() {
            return examined;
        }
    }
}
