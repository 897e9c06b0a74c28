package dev.tandem.engine.sampling;

/**
 * How often each token id occurred in one request's output, without boxing: an open-addressing table from id to a
 * slot in two dense arrays (the distinct ids in first-seen order, and their counts), which the penalty pass walks.
 * Adding a token allocates nothing except when the distinct ids outgrow the arrays (doubling, so amortized O(1)
 * and bounded by the distinct tokens of the output). Not thread-safe: the request's sampler owns it.
 */
final class TokenCounts {
    private int[] table = new int[32]; // slot + 1 of the id hashed here, 0 when empty; size a power of two
    private int[] ids = new int[16];
    private int[] counts = new int[16];
    private int size;

    /** Counts one more occurrence of {@code id}. */
    void add(int id) {
        int mask = table.length - 1;
        for (int h = mix(id) & mask; ; h = (h + 1) & mask) {
            int slot = table[h] - 1;
            if (slot < 0) {
                if (size == ids.length) {
                    grow();
                    add(id);
                    return;
                }
                ids[size] = id;
                counts[size] = 1;
                table[h] = ++size;
                return;
            }
            if (ids[slot] == id) {
                counts[slot]++;
                return;
            }
        }
    }

    /** Distinct ids counted. */
    int size() {
        return size;
    }

    /** The {@code i}-th distinct id (first-seen order). */
    int id(int i) {
        return ids[i];
    }

    /** How often the {@code i}-th distinct id occurred. */
    int count(int i) {
        return counts[i];
    }

    /** Doubles the dense arrays and the table (kept at most half full), rehashing every id. */
    private void grow() {
        ids = java.util.Arrays.copyOf(ids, ids.length * 2);
        counts = java.util.Arrays.copyOf(counts, counts.length * 2);
        table = new int[table.length * 2];
        int mask = table.length - 1;
        for (int s = 0; s < size; s++) {
            int h = mix(ids[s]) & mask;
            while (table[h] != 0) {
                h = (h + 1) & mask;
            }
            table[h] = s + 1;
        }
    }

    /** Spreads consecutive ids over the table (Murmur3's finalizer). */
    private static int mix(int x) {
        x ^= x >>> 16;
        x *= 0x85ebca6b;
        x ^= x >>> 13;
        x *= 0xc2b2ae35;
        return x ^ (x >>> 16);
    }
}
