package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The softmax's exp: within 2 ulp of {@link Math#exp} over the range a softmax feeds it (scores minus their max, so
 * at most 0, down to where floats underflow), 0 below it, and the scalar tail's bits equal to a vector lane's.
 */
class VectorExpTest {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int L = FS.length();

    @Test
    void closeToMathExpAndTheSameBitsInEveryLane() {
        SplittableRandom r = new SplittableRandom(5);
        float[] x = new float[L];
        float[] y = new float[L];
        double worstUlps = 0;
        for (int i = 0; i < 200_000; i++) {
            for (int l = 0; l < L; l++) {
                x[l] = i % 3 == 0 ? (float) -r.nextDouble(0, 1) : (float) -r.nextDouble(0, 87.3);
            }
            VectorExp.exp(FloatVector.fromArray(FS, x, 0)).intoArray(y, 0);
            for (int l = 0; l < L; l++) {
                float want = (float) Math.exp(x[l]);
                assertEquals(Float.floatToRawIntBits(VectorExp.exp(x[l])), Float.floatToRawIntBits(y[l]),
                        "scalar and lane bits differ at " + x[l]);
                worstUlps = Math.max(worstUlps, Math.abs(y[l] - want) / Math.ulp(want));
            }
        }
        assertTrue(worstUlps <= 2, "worst error " + worstUlps + " ulp");
        assertEquals(1f, VectorExp.exp(0f));
        assertEquals(0f, VectorExp.exp(-100f));
        assertEquals(0f, VectorExp.exp(Float.NEGATIVE_INFINITY));
    }

    @Test
    void vectorSwigluGivesTheReferenceBits() {
        int n = 7 * L + 3;
        SplittableRandom r = new SplittableRandom(2);
        float[] gate = new float[n];
        float[] up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) r.nextGaussian() * (i % 5 == 0 ? 60 : 4); // some far past exp's range either way
            up[i] = (float) r.nextGaussian();
        }
        float[] want = gate.clone();
        ComputeBackend.swigluRange(want, up, 0, n);
        float[] got = gate.clone();
        VectorExp.swiglu(got, up, 1, n - 2); // ragged ends: the scalar tail and the first lanes disagree on nothing
        got[0] = want[0];
        got[n - 2] = want[n - 2];
        got[n - 1] = want[n - 1];
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), "element " + i);
            double g = gate[i];
            assertEquals(g / (1 + Math.exp(-g)) * up[i], want[i], 1e-6 * Math.max(1, Math.abs(want[i])),
                    "element " + i);
        }
    }

    @Test
    void softmaxSumsOverVectorsThenTheTail() {
        int n = 3 * L + 5;
        float[] s = new float[n + 2];
        SplittableRandom r = new SplittableRandom(9);
        for (int i = 0; i < s.length; i++) {
            s[i] = (float) r.nextGaussian() * 4;
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 1; i <= n; i++) {
            max = Math.max(max, s[i]);
        }
        float[] copy = s.clone();
        float sum = VectorExp.expMinusMaxAndSum(s, 1, n, max);
        double ref = 0;
        for (int i = 1; i <= n; i++) {
            assertEquals(Math.exp(copy[i] - max), s[i], 2.5e-7 * Math.max(1e-30, s[i]) + 1e-38, "element " + i);
            ref += s[i];
        }
        assertEquals(ref, sum, 1e-6 * ref);
        assertEquals(copy[0], s[0]);
        assertEquals(copy[n + 1], s[n + 1]);
    }
}
