package dev.tandem.engine.sampling;

import java.util.Arrays;

/**
 * Orders packed sampling candidates, {@code (probability bits << 32) | (0xFFFFFFFF - id)}, from best to worst: the
 * order a descending sort of the packed longs gives (higher probability first, the lower id first among equals). A
 * stable LSD radix sort on the probability bits, one byte a pass, O(n): the binary heap it replaces was popped once
 * per candidate the cut keeps, and with no cut at all (top_p 1, no top_k: the defaults) that was every entry of the
 * vocabulary, ~5 ms a token over 49k. Stability gives the id order for free, since the candidates come in ascending
 * id order.
 */
final class CandidateOrder {
    static final int COUNTS = 4 * 256;

    private CandidateOrder() {
    }

    /**
     * Sorts {@code a[0, n)} (packed, ascending id) best first, using {@code b} (at least {@code n} long) as the other
     * buffer and {@code counts} ({@link #COUNTS} ints) as scratch; returns the one of {@code a}, {@code b} that holds
     * the result.
     */
    static long[] bestFirst(long[] a, long[] b, int n, int[] counts) {
        Arrays.fill(counts, 0);
        for (int i = 0; i < n; i++) {
            int k = key(a[i]);
            counts[k & 0xFF]++;
            counts[256 + ((k >>> 8) & 0xFF)]++;
            counts[512 + ((k >>> 16) & 0xFF)]++;
            counts[768 + (k >>> 24)]++;
        }
        long[] src = a;
        long[] dst = b;
        for (int pass = 0; pass < 4; pass++) {
            int base = pass * 256;
            int shift = pass * 8;
            if (counts[base + ((key(src[0]) >>> shift) & 0xFF)] == n) {
                continue; // every candidate has this byte: the pass would copy them in place order
            }
            int at = 0;
            for (int d = 255; d >= 0; d--) { // larger bytes first: best first
                int c = counts[base + d];
                counts[base + d] = at;
                at += c;
            }
            for (int i = 0; i < n; i++) {
                long x = src[i];
                dst[counts[base + ((key(x) >>> shift) & 0xFF)]++] = x;
            }
            long[] t = src;
            src = dst;
            dst = t;
        }
        return src;
    }

    /** The probability bits with the sign flipped, so unsigned byte order is the signed order the packed long has. */
    private static int key(long packed) {
        return (int) (packed >>> 32) ^ 0x80000000;
    }
}
