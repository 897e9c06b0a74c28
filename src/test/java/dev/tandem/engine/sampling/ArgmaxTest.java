package dev.tandem.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The vector argmax returns what the one-compare-at-a-time definition returns, on every length around the vector
 * blocks and at offsets, with ties (the first wins), zeros of both signs (equal under {@code >}), infinities and
 * NaN (never wins, unless it comes first).
 */
class ArgmaxTest {

    @Test
    void matchesTheScalarDefinitionOnRaggedRowsWithTiesZerosAndNaN() {
        Random r = new Random(11);
        float[] specials = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1f, -1f};
        int checked = 0;
        for (int len = 0; len <= 300; len++) {
            for (int kind = 0; kind < 6; kind++) {
                int from = r.nextInt(5);
                float[] v = new float[from + len + 3];
                for (int i = 0; i < v.length; i++) {
                    v[i] = switch (kind) {
                        case 0 -> (float) r.nextGaussian();                 // distinct values
                        case 1 -> r.nextInt(4);                             // many ties
                        case 2 -> r.nextBoolean() ? 0f : -0f;               // only zeros, both signs
                        case 3 -> specials[r.nextInt(specials.length)];     // NaN and infinities among ties
                        case 4 -> -1f - r.nextInt(3);                       // all negative, ties
                        default -> (float) r.nextGaussian();
                    };
                }
                if (kind == 5 && len > 0) {
                    v[from] = Float.NaN; // a NaN first entry is the answer
                }
                if (kind == 0 && len > 1) {
                    v[from + r.nextInt(len)] = 100f; // the maximum once, anywhere
                }
                assertEquals(Logprobs.argmaxScalar(v, from, len), Logprobs.argmax(v, from, len),
                        "len " + len + ", kind " + kind + ", from " + from);
                checked++;
            }
        }
        assertEquals(301 * 6, checked);
    }

    @Test
    void theFirstOfEqualMaximaWins() {
        float[] v = new float[200];
        java.util.Arrays.fill(v, -3f);
        v[37] = 2f;
        v[150] = 2f;
        v[199] = 2f;
        assertEquals(37, Logprobs.argmax(v));
        v[3] = -0f;
        java.util.Arrays.fill(v, 4, 200, 0f);
        assertEquals(3, Logprobs.argmax(v), "-0.0 first equals the 0.0 after it");
    }
}
