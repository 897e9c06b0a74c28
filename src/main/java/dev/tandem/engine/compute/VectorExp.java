package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code exp} of a float vector for the softmax, in lane-wise IEEE arithmetic only (Cody-Waite reduction by ln 2 and
 * the Cephes degree-6 polynomial; within 2 ulp of {@link Math#exp} over the softmax's range). A scalar
 * {@code Math.exp} per score cost more than the score itself in long prefills; a SIMD library exp would be faster
 * still but could give other bits when the JIT has not intrinsified it yet, and every result here must be the same
 * bits whatever the JIT state (a token's output may not depend on what ran before it). The scalar tail uses the same
 * operations lane by lane, so it gives the bits a vector lane would.
 */
final class VectorExp {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int L = FS.length();
    private static final float LOG2E = 1.44269504088896341f;
    private static final float MAGIC = 12582912f; // 1.5 * 2^23: adding it rounds to an integer in the low bits
    private static final int MAGIC_BITS = Float.floatToRawIntBits(MAGIC);
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;
    /** Below this exp underflows past the normal floats; the result is then 0. */
    private static final float LOW = -87.33654f;
    private static final float HIGH = 88.37626f;

    private VectorExp() {
    }

    /** exp of every lane ({@link #expMinusMaxAndSum} repeats these lines inline). */
    static FloatVector exp(FloatVector x) {
        var under = x.lt(LOW);
        x = x.max(LOW).min(HIGH);
        FloatVector t = x.mul(LOG2E).add(MAGIC);
        FloatVector n = t.sub(MAGIC);
        FloatVector r = n.fma(FloatVector.broadcast(FS, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(FS, -LN2_LO), r);
        FloatVector y = r.fma(P0, P1);
        y = y.fma(r, FloatVector.broadcast(FS, P2));
        y = y.fma(r, FloatVector.broadcast(FS, P3));
        y = y.fma(r, FloatVector.broadcast(FS, P4));
        y = y.fma(r, FloatVector.broadcast(FS, P5));
        y = y.fma(r.mul(r), r).add(1f);
        IntVector k = t.reinterpretAsInts().sub(MAGIC_BITS).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(k.reinterpretAsFloats()).blend(0f, under);
    }

    /** The same arithmetic on one float. */
    static float exp(float x) {
        // 0 below LOW without a branch: a branch never taken while the JIT profiles would be compiled as a trap,
        // and the deoptimization when it is first taken (a score far below the max) costs a recompilation.
        float keep = (Float.floatToRawIntBits(x - LOW) >>> 31) ^ 1;
        x = Math.min(Math.max(x, LOW), HIGH);
        float t = x * LOG2E + MAGIC;
        float n = t - MAGIC;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float y = Math.fma(r, P0, P1);
        y = Math.fma(y, r, P2);
        y = Math.fma(y, r, P3);
        y = Math.fma(y, r, P4);
        y = Math.fma(y, r, P5);
        y = Math.fma(y, r * r, r) + 1f;
        float pow2 = Float.intBitsToFloat((Float.floatToRawIntBits(t) - MAGIC_BITS + 127) << 23);
        return y * pow2 * keep;
    }

    /**
     * SwiGLU in place, {@code gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i]} over {@code [from, to)}: whole vectors
     * in lanes, the tail with the scalar {@link #exp(float)}, so every element gets the bits of
     * {@link dev.tandem.engine.compute.ComputeBackend#swigluRange}.
     */
    static void swiglu(float[] gate, float[] up, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) {
            FloatVector g = FloatVector.fromArray(FS, gate, i);
            // exp(-g) written out (see expMinusMaxAndSum).
            FloatVector x = g.neg();
            var under = x.lt(LOW);
            x = x.max(LOW).min(HIGH);
            FloatVector t = x.mul(LOG2E).add(MAGIC);
            FloatVector k = t.sub(MAGIC);
            FloatVector r = k.fma(FloatVector.broadcast(FS, -LN2_HI), x);
            r = k.fma(FloatVector.broadcast(FS, -LN2_LO), r);
            FloatVector y = r.fma(P0, P1);
            y = y.fma(r, FloatVector.broadcast(FS, P2));
            y = y.fma(r, FloatVector.broadcast(FS, P3));
            y = y.fma(r, FloatVector.broadcast(FS, P4));
            y = y.fma(r, FloatVector.broadcast(FS, P5));
            y = y.fma(r.mul(r), r).add(1f);
            IntVector pow2 = t.reinterpretAsInts().sub(MAGIC_BITS).add(127).lanewise(VectorOperators.LSHL, 23);
            FloatVector e = y.mul(pow2.reinterpretAsFloats()).blend(0f, under);
            g.div(e.add(1f)).mul(FloatVector.fromArray(FS, up, i)).intoArray(gate, i);
        }
        for (; i < to; i++) {
            float g = gate[i];
            gate[i] = g / (1f + exp(-g)) * up[i];
        }
    }

    /**
     * Replaces {@code s[off .. off + n)} by {@code exp(s - max)} and returns their sum: one vector of partial sums
     * over whole vectors (then {@link Lanes#sum}), the tail added after it in order.
     */
    static float expMinusMaxAndSum(float[] s, int off, int n, float max) {
        FloatVector m = FloatVector.broadcast(FS, max);
        FloatVector acc = FloatVector.zero(FS);
        int j = 0;
        for (; j + L <= n; j += L) {
            // exp(x) written out here, not called: C2 declines to inline a callee this size at some call sites,
            // and a vector passed to a call that is not inlined is boxed (allocation on the hot path).
            FloatVector x = FloatVector.fromArray(FS, s, off + j).sub(m);
            var under = x.lt(LOW);
            x = x.max(LOW).min(HIGH);
            FloatVector t = x.mul(LOG2E).add(MAGIC);
            FloatVector k = t.sub(MAGIC);
            FloatVector r = k.fma(FloatVector.broadcast(FS, -LN2_HI), x);
            r = k.fma(FloatVector.broadcast(FS, -LN2_LO), r);
            FloatVector y = r.fma(P0, P1);
            y = y.fma(r, FloatVector.broadcast(FS, P2));
            y = y.fma(r, FloatVector.broadcast(FS, P3));
            y = y.fma(r, FloatVector.broadcast(FS, P4));
            y = y.fma(r, FloatVector.broadcast(FS, P5));
            y = y.fma(r.mul(r), r).add(1f);
            IntVector pow2 = t.reinterpretAsInts().sub(MAGIC_BITS).add(127).lanewise(VectorOperators.LSHL, 23);
            FloatVector e = y.mul(pow2.reinterpretAsFloats()).blend(0f, under);
            e.intoArray(s, off + j);
            acc = acc.add(e);
        }
        float sum = Lanes.sum(acc);
        for (; j < n; j++) {
            float e = exp(s[off + j] - max);
            s[off + j] = e;
            sum += e;
        }
        return sum;
    }
}
