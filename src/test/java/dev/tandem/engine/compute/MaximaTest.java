package dev.tandem.engine.compute;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The vector maximum is the scalar Math.max loop's, bit for bit: ragged lengths, offsets, zeros of both signs, NaN. */
class MaximaTest {

    @Test
    void equalsTheScalarLoopBitForBit() {
        SplittableRandom r = new SplittableRandom(9);
        float[] specials = {0f, -0f, Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, -3f};
        for (int n = 0; n <= 200; n++) {
            for (int kind = 0; kind < 3; kind++) {
                int from = r.nextInt(4);
                float[] a = new float[from + n + 2];
                for (int i = 0; i < a.length; i++) {
                    a[i] = switch (kind) {
                        case 0 -> (float) r.nextGaussian();
                        case 1 -> r.nextBoolean() ? 0f : -0f;
                        default -> specials[r.nextInt(specials.length)];
                    };
                }
                float want = Float.NEGATIVE_INFINITY;
                for (int i = from; i < from + n; i++) {
                    want = Math.max(want, a[i]);
                }
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(Maxima.max(a, from, n)),
                        "n " + n + ", kind " + kind);
            }
        }
    }
}
