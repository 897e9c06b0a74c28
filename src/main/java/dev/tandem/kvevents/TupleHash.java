package dev.tandem.kvevents;

import java.util.List;

/**
 * CPython's {@code hash(tuple_of_ints)} (Python 3.8+ xxHash-style tuple hash, §8.4), so block hashes equal SGLang's
 * for the same tokens. Unsigned 64-bit arithmetic with wrap-around, reinterpreted as signed.
 */
public final class TupleHash {
    private static final long P1 = 0x9E3779B185EBCA87L; // 11400714785074694791
    private static final long P2 = 0xC2B2AE3D27D4EB4FL; // 14029467366897019727
    private static final long P5 = 0x27D4EB2F165667C5L; // 2870177450012600261
    private static final long MODULUS = (1L << 61) - 1;

    private TupleHash() {
    }

    /** CPython's hash of an int: sign(v)·(|v| mod 2^61−1), with −1 mapped to −2. */
    public static long intHash(long v) {
        long h = v >= 0 ? v % MODULUS : -((-v) % MODULUS);
        return h == -1 ? -2 : h;
    }

    public static long hash(List<Integer> items) {
        long acc = P5;
        for (int item : items) {
            acc += intHash(item) * P2;
            acc = Long.rotateLeft(acc, 31);
            acc *= P1;
        }
        acc += items.size() ^ (P5 ^ 3527539L);
        return acc == -1L ? 1546275796L : acc;
    }

    public static long hash(int[] items, int from, int to) {
        long acc = P5;
        for (int i = from; i < to; i++) {
            acc += intHash(items[i]) * P2;
            acc = Long.rotateLeft(acc, 31);
            acc *= P1;
        }
        acc += (to - from) ^ (P5 ^ 3527539L);
        return acc == -1L ? 1546275796L : acc;
    }
}
