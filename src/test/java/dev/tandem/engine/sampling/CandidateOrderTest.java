package dev.tandem.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The radix order is exactly a descending sort of the packed longs: higher probability bits first, then the lower
 * id, over rows with many ties, zeros, a probability of one, and bit patterns a NaN or a negative zero would leave.
 */
class CandidateOrderTest {

    @Test
    void bestFirstIsADescendingSortOfThePackedCandidates() {
        SplittableRandom r = new SplittableRandom(3);
        int[] counts = new int[CandidateOrder.COUNTS];
        for (int n : new int[] {1, 2, 7, 256, 257, 5003}) {
            for (int kind = 0; kind < 4; kind++) {
                long[] a = new long[n];
                for (int i = 0; i < n; i++) {
                    float p = switch (kind) {
                        case 0 -> (float) r.nextDouble();                       // distinct
                        case 1 -> r.nextInt(3) / 4f;                            // ties, zeros
                        case 2 -> r.nextInt(4) == 0 ? 1f : (float) r.nextDouble() * 1e-30f; // one and tiny
                        default -> new float[] {Float.NaN, -0f, 0f, 0.5f}[r.nextInt(4)];
                    };
                    int bits = kind == 3 && r.nextBoolean() ? Float.floatToRawIntBits(p) | 0x80000000
                            : Float.floatToRawIntBits(p); // sign-bit patterns sort after everything, as longs do
                    a[i] = ((long) bits << 32) | (0xFFFFFFFFL - i);
                }
                long[] want = a.clone();
                Arrays.sort(want);
                for (int i = 0; i < n / 2; i++) {
                    long t = want[i];
                    want[i] = want[n - 1 - i];
                    want[n - 1 - i] = t;
                }
                long[] got = CandidateOrder.bestFirst(a, new long[n], n, counts);
                assertArrayEquals(want, Arrays.copyOf(got, n), "n " + n + ", kind " + kind);
            }
        }
    }
}
