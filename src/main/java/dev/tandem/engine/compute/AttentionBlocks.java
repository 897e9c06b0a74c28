package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;

/**
 * The two inner loops of {@link GroupedAttention} over many positions at once, each giving exactly the bits of the
 * per-position loop it replaces.
 *
 * <p>Scores of {@code L} (16) positions: the per-position kernel sums a lane-wise dot vector with the butterfly of
 * {@link Lanes#sum(FloatVector)} (lane i meets i^8, then i^4, i^2, i^1) and pays four permutes, four adds and a lane
 * extraction for each position, one after the other. Here the 16 dot vectors are reduced together: combining two
 * vectors X and Y at width w puts {@code X[i] + X[i+w]} in the low half of each 2w-lane block and
 * {@code Y[i] + Y[i-w]} in the high half (two blends, one permute, one add), the same additions of the same operands
 * as the butterfly's. Four levels leave one vector whose lane l holds input {@code bitrev(l)}'s sum, so input k is
 * fed position {@code bitrev(k)} and the lanes come out in position order.
 *
 * <p>Values of three heads at once: the per-head loop keeps four accumulator vectors, one FMA each per position, a
 * chain that waits on the FMA latency; three heads of a GQA group share each V load and give twelve independent
 * chains. Every lane still adds its positions in ascending order.
 */
final class AttentionBlocks {
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    static final int L = FS.length();
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    // bf16 K/V is widened as Bf16KvAttention describes, written out at each use: a call returning a vector that C2
    // does not inline into these large methods boxes the vector (16 MB a token on the bench preset; caught by
    // HotPathAllocationTest's head-size-64 cases).
    static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> SS = VectorSpecies.of(short.class,
            VectorShape.forBitSize(FS.vectorBitSize() / 2));
    /** Whether the score blocks apply: a 16-lane vector (AVX-512); other widths keep the per-position loop. */
    static final boolean SCORE_BLOCKS = L == 16;
    /**
     * Floats of scratch {@link #scores16F32} and {@link #scores16Bf16} need: four partly reduced vectors, and a
     * partial block's scores ({@link #finishBlock}).
     */
    static final int SCRATCH = 5 * L;

    static final VectorShuffle<Float> S8 = VectorShuffle.fromOp(FS, i -> (i ^ 8) & (L - 1));
    static final VectorShuffle<Float> S4 = VectorShuffle.fromOp(FS, i -> (i ^ 4) & (L - 1));
    static final VectorShuffle<Float> S2 = VectorShuffle.fromOp(FS, i -> (i ^ 2) & (L - 1));
    static final VectorShuffle<Float> S1 = VectorShuffle.fromOp(FS, i -> (i ^ 1) & (L - 1));
    static final VectorMask<Float> M8 = VectorMask.fromLong(FS, 0xFF00L & ((1L << L) - 1));
    static final VectorMask<Float> M4 = VectorMask.fromLong(FS, 0xF0F0L & ((1L << L) - 1));
    static final VectorMask<Float> M2 = VectorMask.fromLong(FS, 0xCCCCL & ((1L << L) - 1));
    static final VectorMask<Float> M1 = VectorMask.fromLong(FS, 0xAAAAL & ((1L << L) - 1));
    /** Position offset of input k: bitrev4(k). */
    static final int[] ORDER = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};

    private AttentionBlocks() {
    }

    /**
     * The last two levels of a score block's pairwise adds: the four partly reduced vectors at
     * {@code tmp[tOff .. tOff + 4L)} (widths 8 and 4 done) become the 16 scores, scaled, at {@code scores[at ..]}.
     * Takes and returns no vector, so whether C2 inlines it cannot make it box one.
     */
    static void finish16(float[] tmp, int tOff, float scale, float[] scores, int at) {
        FloatVector r0 = FloatVector.fromArray(FS, tmp, tOff);
        FloatVector r1 = FloatVector.fromArray(FS, tmp, tOff + L);
        FloatVector r2 = FloatVector.fromArray(FS, tmp, tOff + 2 * L);
        FloatVector r3 = FloatVector.fromArray(FS, tmp, tOff + 3 * L);
        FloatVector t0 = r0.blend(r1, M2).add(r1.blend(r0, M2).rearrange(S2));
        FloatVector t1 = r2.blend(r3, M2).add(r3.blend(r2, M2).rearrange(S2));
        t0.blend(t1, M1).add(t1.blend(t0, M1).rearrange(S1)).mul(scale).intoArray(scores, at);
    }

    /**
     * {@link #finish16} for a block whose positions past {@code j0 + last} lie beyond the context: a whole block
     * straight into {@code scores}, a partial one through {@code tmp[stage .. stage + L)} (a slot of its own,
     * outside every block's reduced vectors) so only its first {@code last + 1} scores are stored.
     */
    static void finishBlock(float[] tmp, int tOff, float scale, float[] scores, int at, int last, int stage) {
        if (last == L - 1) {
            finish16(tmp, tOff, scale, scores, at);
        } else {
            finish16(tmp, tOff, scale, tmp, stage);
            System.arraycopy(tmp, stage, scores, at, last + 1);
        }
    }

    /**
     * {@code scores[sOff + j] = scale · q[qOff ..] · K[j]} for the 16 positions {@code j0 .. j0 + 15}, K stored
     * as bf16 (widened by {@link Bf16KvAttention}), head size {@code 4L}: the four query vectors stay in registers and each dot is four FMAs written out
     * (a loop over the head's vectors inside the block cost twice the time); {@code tmp[tOff .. tOff + SCRATCH)} is
     * scratch.
     */
    static void scores16Bf16(float[] q, int qOff, MemorySegment keys, int[] table, int rowOff,
                         int j0, long kvStride, long headByte, float scale, float[] scores, int sOff, float[] tmp,
                         int tOff, int last) {
        long vb = (long) L * 2; // bf16
        FloatVector q0 = FloatVector.fromArray(FS, q, qOff), q1 = FloatVector.fromArray(FS, q, qOff + L);
        FloatVector q2 = FloatVector.fromArray(FS, q, qOff + 2 * L), q3 = FloatVector.fromArray(FS, q, qOff + 3 * L);
        FloatVector z = FloatVector.zero(FS);
        for (int m = 0; m < 4; m++) {
            int o = rowOff + j0;
            long b0 = table[o + Math.min(ORDER[4 * m], last)] * kvStride + headByte;
            long b1 = table[o + Math.min(ORDER[4 * m + 1], last)] * kvStride + headByte;
            long b2 = table[o + Math.min(ORDER[4 * m + 2], last)] * kvStride + headByte;
            long b3 = table[o + Math.min(ORDER[4 * m + 3], last)] * kvStride + headByte;
            // The per-position kernel's order: zero, then q·K over the head's vectors in ascending order.
            FloatVector d0 = q0.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b0, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), z);
            FloatVector d1 = q0.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b1, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), z);
            FloatVector d2 = q0.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b2, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), z);
            FloatVector d3 = q0.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b3, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), z);
            d0 = q1.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b0 + vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d0);
            d1 = q1.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b1 + vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d1);
            d2 = q1.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b2 + vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d2);
            d3 = q1.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b3 + vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d3);
            d0 = q2.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b0 + 2 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d0);
            d1 = q2.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b1 + 2 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d1);
            d2 = q2.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b2 + 2 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d2);
            d3 = q2.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b3 + 2 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d3);
            d0 = q3.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b0 + 3 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d0);
            d1 = q3.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b1 + 3 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d1);
            d2 = q3.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b2 + 3 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d2);
            d3 = q3.fma(((IntVector) ShortVector.fromMemorySegment(SS, keys, b3 + 3 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats(), d3);
            // Width 8: inputs (0, 1) and (2, 3); then width 4 over the two results.
            FloatVector p0 = d0.blend(d1, M8).add(d1.blend(d0, M8).rearrange(S8));
            FloatVector p1 = d2.blend(d3, M8).add(d3.blend(d2, M8).rearrange(S8));
            p0.blend(p1, M4).add(p1.blend(p0, M4).rearrange(S4)).intoArray(tmp, tOff + m * L);
        }
        finishBlock(tmp, tOff, scale, scores, sOff + j0, last, tOff + 4 * L);
    }

    /**
     * {@link #scores16Bf16} for F32 K with the loads written out (no call that returns a vector, which C2 might not
     * inline in a big method and would then box), head size {@code 4L}: the four query vectors stay in registers and each dot is four FMAs written out
     * (a loop over the head's vectors inside the block cost twice the time); {@code tmp[tOff .. tOff + SCRATCH)} is
     * scratch.
     */
    static void scores16F32(float[] q, int qOff, MemorySegment keys, int[] table, int rowOff,
                         int j0, long kvStride, long headByte, float scale, float[] scores, int sOff, float[] tmp,
                         int tOff, int last) {
        long vb = (long) L * Float.BYTES;
        FloatVector q0 = FloatVector.fromArray(FS, q, qOff), q1 = FloatVector.fromArray(FS, q, qOff + L);
        FloatVector q2 = FloatVector.fromArray(FS, q, qOff + 2 * L), q3 = FloatVector.fromArray(FS, q, qOff + 3 * L);
        FloatVector z = FloatVector.zero(FS);
        for (int m = 0; m < 4; m++) {
            int o = rowOff + j0;
            long b0 = table[o + Math.min(ORDER[4 * m], last)] * kvStride + headByte;
            long b1 = table[o + Math.min(ORDER[4 * m + 1], last)] * kvStride + headByte;
            long b2 = table[o + Math.min(ORDER[4 * m + 2], last)] * kvStride + headByte;
            long b3 = table[o + Math.min(ORDER[4 * m + 3], last)] * kvStride + headByte;
            // The per-position kernel's order: zero, then q·K over the head's vectors in ascending order.
            FloatVector d0 = q0.fma(FloatVector.fromMemorySegment(FS, keys, b0, LE), z);
            FloatVector d1 = q0.fma(FloatVector.fromMemorySegment(FS, keys, b1, LE), z);
            FloatVector d2 = q0.fma(FloatVector.fromMemorySegment(FS, keys, b2, LE), z);
            FloatVector d3 = q0.fma(FloatVector.fromMemorySegment(FS, keys, b3, LE), z);
            d0 = q1.fma(FloatVector.fromMemorySegment(FS, keys, b0 + vb, LE), d0);
            d1 = q1.fma(FloatVector.fromMemorySegment(FS, keys, b1 + vb, LE), d1);
            d2 = q1.fma(FloatVector.fromMemorySegment(FS, keys, b2 + vb, LE), d2);
            d3 = q1.fma(FloatVector.fromMemorySegment(FS, keys, b3 + vb, LE), d3);
            d0 = q2.fma(FloatVector.fromMemorySegment(FS, keys, b0 + 2 * vb, LE), d0);
            d1 = q2.fma(FloatVector.fromMemorySegment(FS, keys, b1 + 2 * vb, LE), d1);
            d2 = q2.fma(FloatVector.fromMemorySegment(FS, keys, b2 + 2 * vb, LE), d2);
            d3 = q2.fma(FloatVector.fromMemorySegment(FS, keys, b3 + 2 * vb, LE), d3);
            d0 = q3.fma(FloatVector.fromMemorySegment(FS, keys, b0 + 3 * vb, LE), d0);
            d1 = q3.fma(FloatVector.fromMemorySegment(FS, keys, b1 + 3 * vb, LE), d1);
            d2 = q3.fma(FloatVector.fromMemorySegment(FS, keys, b2 + 3 * vb, LE), d2);
            d3 = q3.fma(FloatVector.fromMemorySegment(FS, keys, b3 + 3 * vb, LE), d3);
            // Width 8: inputs (0, 1) and (2, 3); then width 4 over the two results.
            FloatVector p0 = d0.blend(d1, M8).add(d1.blend(d0, M8).rearrange(S8));
            FloatVector p1 = d2.blend(d3, M8).add(d3.blend(d2, M8).rearrange(S8));
            p0.blend(p1, M4).add(p1.blend(p0, M4).rearrange(S4)).intoArray(tmp, tOff + m * L);
        }
        finishBlock(tmp, tOff, scale, scores, sOff + j0, last, tOff + 4 * L);
    }

    /**
     * For three heads h = 0..2 ({@code scores} at {@code sOff + h·len}, {@code acc} at {@code a + h·accStride}):
     * {@code acc[a + h·accStride .. + 4L) += Σ_j scores[j] · V[j][head .. head + 4L)} over positions
     * {@code [j0, j1)}.
     */
    static void values4x3Bf16(MemorySegment values, int[] table, int rowOff, int j0, int j1, long kvStride,
                          long headByte, float[] scores, int sOff, int len, float[] acc, int a, int accStride) {
        long vb = (long) L * 2; // bf16
        int a1 = a + accStride;
        int a2 = a1 + accStride;
        FloatVector x0 = FloatVector.fromArray(FS, acc, a), x1 = FloatVector.fromArray(FS, acc, a + L);
        FloatVector x2 = FloatVector.fromArray(FS, acc, a + 2 * L), x3 = FloatVector.fromArray(FS, acc, a + 3 * L);
        FloatVector y0 = FloatVector.fromArray(FS, acc, a1), y1 = FloatVector.fromArray(FS, acc, a1 + L);
        FloatVector y2 = FloatVector.fromArray(FS, acc, a1 + 2 * L), y3 = FloatVector.fromArray(FS, acc, a1 + 3 * L);
        FloatVector z0 = FloatVector.fromArray(FS, acc, a2), z1 = FloatVector.fromArray(FS, acc, a2 + L);
        FloatVector z2 = FloatVector.fromArray(FS, acc, a2 + 2 * L), z3 = FloatVector.fromArray(FS, acc, a2 + 3 * L);
        int s1 = sOff + len;
        int s2 = s1 + len;
        for (int j = j0; j < j1; j++) {
            long base = table[rowOff + j] * kvStride + headByte;
            FloatVector v0 = ((IntVector) ShortVector.fromMemorySegment(SS, values, base, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector v1 = ((IntVector) ShortVector.fromMemorySegment(SS, values, base + vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector v2 = ((IntVector) ShortVector.fromMemorySegment(SS, values, base + 2 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector v3 = ((IntVector) ShortVector.fromMemorySegment(SS, values, base + 3 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector p = FloatVector.broadcast(FS, scores[sOff + j]);
            x0 = v0.fma(p, x0);
            x1 = v1.fma(p, x1);
            x2 = v2.fma(p, x2);
            x3 = v3.fma(p, x3);
            p = FloatVector.broadcast(FS, scores[s1 + j]);
            y0 = v0.fma(p, y0);
            y1 = v1.fma(p, y1);
            y2 = v2.fma(p, y2);
            y3 = v3.fma(p, y3);
            p = FloatVector.broadcast(FS, scores[s2 + j]);
            z0 = v0.fma(p, z0);
            z1 = v1.fma(p, z1);
            z2 = v2.fma(p, z2);
            z3 = v3.fma(p, z3);
        }
        x0.intoArray(acc, a);
        x1.intoArray(acc, a + L);
        x2.intoArray(acc, a + 2 * L);
        x3.intoArray(acc, a + 3 * L);
        y0.intoArray(acc, a1);
        y1.intoArray(acc, a1 + L);
        y2.intoArray(acc, a1 + 2 * L);
        y3.intoArray(acc, a1 + 3 * L);
        z0.intoArray(acc, a2);
        z1.intoArray(acc, a2 + L);
        z2.intoArray(acc, a2 + 2 * L);
        z3.intoArray(acc, a2 + 3 * L);
    }

    /**
     * {@link #values4x3Bf16} for F32 V with the loads written out. For three heads h = 0..2 ({@code scores} at
     * {@code sOff + h·len}, {@code acc} at {@code a + h·accStride}): {@code acc[a + h·accStride .. + 4L) += Σ_j
     * scores[j] · V[j][head .. head + 4L)} over positions {@code [j0, j1)}.
     */
    static void values4x3F32(MemorySegment values, int[] table, int rowOff, int j0, int j1, long kvStride,
                          long headByte, float[] scores, int sOff, int len, float[] acc, int a, int accStride) {
        long vb = (long) L * Float.BYTES;
        int a1 = a + accStride;
        int a2 = a1 + accStride;
        FloatVector x0 = FloatVector.fromArray(FS, acc, a), x1 = FloatVector.fromArray(FS, acc, a + L);
        FloatVector x2 = FloatVector.fromArray(FS, acc, a + 2 * L), x3 = FloatVector.fromArray(FS, acc, a + 3 * L);
        FloatVector y0 = FloatVector.fromArray(FS, acc, a1), y1 = FloatVector.fromArray(FS, acc, a1 + L);
        FloatVector y2 = FloatVector.fromArray(FS, acc, a1 + 2 * L), y3 = FloatVector.fromArray(FS, acc, a1 + 3 * L);
        FloatVector z0 = FloatVector.fromArray(FS, acc, a2), z1 = FloatVector.fromArray(FS, acc, a2 + L);
        FloatVector z2 = FloatVector.fromArray(FS, acc, a2 + 2 * L), z3 = FloatVector.fromArray(FS, acc, a2 + 3 * L);
        int s1 = sOff + len;
        int s2 = s1 + len;
        for (int j = j0; j < j1; j++) {
            long base = table[rowOff + j] * kvStride + headByte;
            FloatVector v0 = FloatVector.fromMemorySegment(FS, values, base, LE);
            FloatVector v1 = FloatVector.fromMemorySegment(FS, values, base + vb, LE);
            FloatVector v2 = FloatVector.fromMemorySegment(FS, values, base + 2 * vb, LE);
            FloatVector v3 = FloatVector.fromMemorySegment(FS, values, base + 3 * vb, LE);
            FloatVector p = FloatVector.broadcast(FS, scores[sOff + j]);
            x0 = v0.fma(p, x0);
            x1 = v1.fma(p, x1);
            x2 = v2.fma(p, x2);
            x3 = v3.fma(p, x3);
            p = FloatVector.broadcast(FS, scores[s1 + j]);
            y0 = v0.fma(p, y0);
            y1 = v1.fma(p, y1);
            y2 = v2.fma(p, y2);
            y3 = v3.fma(p, y3);
            p = FloatVector.broadcast(FS, scores[s2 + j]);
            z0 = v0.fma(p, z0);
            z1 = v1.fma(p, z1);
            z2 = v2.fma(p, z2);
            z3 = v3.fma(p, z3);
        }
        x0.intoArray(acc, a);
        x1.intoArray(acc, a + L);
        x2.intoArray(acc, a + 2 * L);
        x3.intoArray(acc, a + 3 * L);
        y0.intoArray(acc, a1);
        y1.intoArray(acc, a1 + L);
        y2.intoArray(acc, a1 + 2 * L);
        y3.intoArray(acc, a1 + 3 * L);
        z0.intoArray(acc, a2);
        z1.intoArray(acc, a2 + L);
        z2.intoArray(acc, a2 + 2 * L);
        z3.intoArray(acc, a2 + 3 * L);
    }
}
