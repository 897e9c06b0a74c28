package dev.tandem.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Code point sets as sorted, disjoint inclusive ranges {@code [lo0, hi0, lo1, hi1, ...]}. */
final class CharSets {
    static final int[] DIGIT = {'0', '9'};
    static final int[] WORD = {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'};
    static final int[] SPACE = {'\t', '\r', ' ', ' '};
    static final int[] ANY_BUT_NEWLINE = {0, '\n' - 1, '\n' + 1, Utf8Ranges.MAX};

    private CharSets() {
    }

    /** Sorts and merges ranges given as pairs in any order. */
    static int[] normalize(List<int[]> pairs) {
        List<int[]> sorted = new ArrayList<>(pairs);
        sorted.sort((x, y) -> Integer.compare(x[0], y[0]));
        List<int[]> merged = new ArrayList<>();
        for (int[] p : sorted) {
            if (!merged.isEmpty() && p[0] <= merged.getLast()[1] + 1) {
                merged.getLast()[1] = Math.max(merged.getLast()[1], p[1]);
            } else {
                merged.add(new int[] {p[0], p[1]});
            }
        }
        int[] out = new int[merged.size() * 2];
        for (int i = 0; i < merged.size(); i++) {
            out[2 * i] = merged.get(i)[0];
            out[2 * i + 1] = merged.get(i)[1];
        }
        return out;
    }

    static void addAll(List<int[]> pairs, int[] ranges) {
        for (int i = 0; i < ranges.length; i += 2) {
            pairs.add(new int[] {ranges[i], ranges[i + 1]});
        }
    }

    /** Every code point not in {@code ranges} (normalized). */
    static int[] complement(int[] ranges) {
        List<int[]> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < ranges.length; i += 2) {
            if (ranges[i] > next) {
                out.add(new int[] {next, ranges[i] - 1});
            }
            next = ranges[i + 1] + 1;
        }
        if (next <= Utf8Ranges.MAX) {
            out.add(new int[] {next, Utf8Ranges.MAX});
        }
        return normalize(out);
    }

    static String describe(int[] ranges) {
        return Arrays.toString(ranges);
    }
}
