package dev.tandem.grammar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A code point range as the UTF-8 byte sequences that encode it: each sequence is a list of byte ranges, one per
 * byte. Surrogates (U+D800..U+DFFF) are never encoded. The classic split: first by encoded length, then until every
 * continuation byte spans its full range or the lead bytes agree.
 */
final class Utf8Ranges {
    static final int MAX = 0x10FFFF;

    private Utf8Ranges() {
    }

    /** Byte-range sequences ({@code int[2 * len]}: lo, hi per byte) covering {@code [lo, hi]}. */
    static List<int[]> of(int lo, int hi) {
        List<int[]> out = new ArrayList<>();
        split(lo, hi, out);
        return out;
    }

    private static void split(int lo, int hi, List<int[]> out) {
        if (lo > hi) {
            return;
        }
        if (lo <= 0xDFFF && hi >= 0xD800) {
            split(lo, 0xD7FF, out);
            split(0xE000, hi, out);
            return;
        }
        for (int edge : new int[] {0x7F, 0x7FF, 0xFFFF}) {
            if (lo <= edge && hi > edge) {
                split(lo, edge, out);
                split(edge + 1, hi, out);
                return;
            }
        }
        if (hi <= 0x7F) {
            out.add(new int[] {lo, hi});
            return;
        }
        int n = hi <= 0x7FF ? 2 : hi <= 0xFFFF ? 3 : 4;
        for (int i = 1; i < n; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m)) {
                if ((lo & m) != 0) {
                    split(lo, lo | m, out);
                    split((lo | m) + 1, hi, out);
                    return;
                }
                if ((hi & m) != m) {
                    split(lo, (hi & ~m) - 1, out);
                    split(hi & ~m, hi, out);
                    return;
                }
            }
        }
        byte[] a = new String(Character.toChars(lo)).getBytes(StandardCharsets.UTF_8);
        byte[] b = new String(Character.toChars(hi)).getBytes(StandardCharsets.UTF_8);
        int[] seq = new int[2 * n];
        for (int i = 0; i < n; i++) {
            seq[2 * i] = a[i] & 0xFF;
            seq[2 * i + 1] = b[i] & 0xFF;
        }
        out.add(seq);
    }
}
