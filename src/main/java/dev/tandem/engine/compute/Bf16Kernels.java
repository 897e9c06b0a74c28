package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * BF16 × F32 matrix-vector micro-kernels. One int lane holds two bf16 weights: shifting left by 16 gives the
 * even-index weight as a float, masking the low half gives the odd-index one; activations come pre-arranged as
 * evens-then-odds per block of {@code 2L} columns so both meet the right inputs.
 *
 * <p>Every (weight row, token) pair is computed the same way whatever kernel covers it: an even and an odd
 * accumulator, blocks added in ascending order, then {@code sum(even + odd)} in one fixed pairwise lane order
 * ({@link Lanes}). So an output
 * never depends on how many tokens share the batch. The kernels differ only in how many pairs they interleave:
 * 2 rows × 4 tokens (16 accumulators) for tiles of four tokens, 1 row × 1 token for the rest.
 */
final class Bf16Kernels {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED;
    private static final int L = FS.length();
    private static final int BLOCK = 2 * L;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int HIGH = 0xFFFF0000;

    private Bf16Kernels() {
    }

    /**
     * {@code out[t, o] = w[o, :] · x[t, :]} for output rows {@code [o0, o1)} and every token.
     */
    static void block(MemorySegment w, int in, float[] xp, int rows, int o0, int o1, float[] out, int outF) {
        long rowBytes = 2L * in;
        int t = 0;
        for (; t + 4 <= rows; t += 4) {
            int o = o0;
            for (; o + 2 <= o1; o += 2) {
                k2x4(w, o * rowBytes, rowBytes, in, xp, t * in, out, t * outF + o, outF);
            }
            for (; o < o1; o++) {
                for (int tt = t; tt < t + 4; tt++) {
                    out[tt * outF + o] = k1x1(w, o * rowBytes, in, xp, tt * in);
                }
            }
        }
        // Single tokens (batch-1 decode is the common case) walk one weight row at a time: one sequential stream
        // per thread reads memory faster than interleaving several rows (measured ~9 vs ~6 GB/s per core here).
        for (; t < rows; t++) {
            for (int o = o0; o < o1; o++) {
                out[t * outF + o] = k1x1(w, o * rowBytes, in, xp, t * in);
            }
        }
    }

    private static FloatVector even(IntVector pair) {
        return pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector odd(IntVector pair) {
        return pair.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats();
    }

    private static float k1x1(MemorySegment w, long wOff, int in, float[] xp, int xOff) {
        FloatVector e = FloatVector.zero(FS);
        FloatVector d = FloatVector.zero(FS);
        for (int k = 0; k < in; k += BLOCK) {
            IntVector p = IntVector.fromMemorySegment(IS, w, wOff + 2L * k, LE);
            e = FloatVector.fromArray(FS, xp, xOff + k).fma(even(p), e);
            d = FloatVector.fromArray(FS, xp, xOff + k + L).fma(odd(p), d);
        }
        return Lanes.sum(e.add(d));
    }

    /** Two weight rows against four tokens; token {@code j}'s results go to {@code out[outOff + j*outF ..]}. */
    private static void k2x4(MemorySegment w, long wOff, long rowBytes, int in, float[] xp, int xOff, float[] out,
                             int outOff, int outF) {
        FloatVector e00 = FloatVector.zero(FS), d00 = FloatVector.zero(FS); // row 0, token 0
        FloatVector e01 = FloatVector.zero(FS), d01 = FloatVector.zero(FS);
        FloatVector e02 = FloatVector.zero(FS), d02 = FloatVector.zero(FS);
        FloatVector e03 = FloatVector.zero(FS), d03 = FloatVector.zero(FS);
        FloatVector e10 = FloatVector.zero(FS), d10 = FloatVector.zero(FS); // row 1, token 0
        FloatVector e11 = FloatVector.zero(FS), d11 = FloatVector.zero(FS);
        FloatVector e12 = FloatVector.zero(FS), d12 = FloatVector.zero(FS);
        FloatVector e13 = FloatVector.zero(FS), d13 = FloatVector.zero(FS);
        int x1 = xOff + in;
        int x2 = x1 + in;
        int x3 = x2 + in;
        for (int k = 0; k < in; k += BLOCK) {
            long at = wOff + 2L * k;
            IntVector p0 = IntVector.fromMemorySegment(IS, w, at, LE);
            IntVector p1 = IntVector.fromMemorySegment(IS, w, at + rowBytes, LE);
            FloatVector we0 = even(p0), wo0 = odd(p0), we1 = even(p1), wo1 = odd(p1);
            FloatVector xe = FloatVector.fromArray(FS, xp, xOff + k);
            FloatVector xo = FloatVector.fromArray(FS, xp, xOff + k + L);
            e00 = xe.fma(we0, e00);
            d00 = xo.fma(wo0, d00);
            e10 = xe.fma(we1, e10);
            d10 = xo.fma(wo1, d10);
            xe = FloatVector.fromArray(FS, xp, x1 + k);
            xo = FloatVector.fromArray(FS, xp, x1 + k + L);
            e01 = xe.fma(we0, e01);
            d01 = xo.fma(wo0, d01);
            e11 = xe.fma(we1, e11);
            d11 = xo.fma(wo1, d11);
            xe = FloatVector.fromArray(FS, xp, x2 + k);
            xo = FloatVector.fromArray(FS, xp, x2 + k + L);
            e02 = xe.fma(we0, e02);
            d02 = xo.fma(wo0, d02);
            e12 = xe.fma(we1, e12);
            d12 = xo.fma(wo1, d12);
            xe = FloatVector.fromArray(FS, xp, x3 + k);
            xo = FloatVector.fromArray(FS, xp, x3 + k + L);
            e03 = xe.fma(we0, e03);
            d03 = xo.fma(wo0, d03);
            e13 = xe.fma(we1, e13);
            d13 = xo.fma(wo1, d13);
        }
        // Horizontal sums as register butterflies (Lanes.sum: the same pairwise order, so the same bits as k1x1);
        // going through memory lane by lane cost more than the FMAs for rows of a few hundred columns.
        out[outOff] = Lanes.sum(e00.add(d00));
        out[outOff + 1] = Lanes.sum(e10.add(d10));
        out[outOff + outF] = Lanes.sum(e01.add(d01));
        out[outOff + outF + 1] = Lanes.sum(e11.add(d11));
        out[outOff + 2 * outF] = Lanes.sum(e02.add(d02));
        out[outOff + 2 * outF + 1] = Lanes.sum(e12.add(d12));
        out[outOff + 3 * outF] = Lanes.sum(e03.add(d03));
        out[outOff + 3 * outF + 1] = Lanes.sum(e13.add(d13));
    }
}
