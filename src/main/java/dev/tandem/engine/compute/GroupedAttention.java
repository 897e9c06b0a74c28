package dev.tandem.engine.compute;

import dev.tandem.config.KvDtype;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Attention of the query heads that share one K/V head (a GQA group) for one token, reading K and V in tiles of
 * {@link #TILE} positions: a tile (16 KB of F32 K at head size 64) comes from memory once and stays in L1 while every
 * head of the group reads it, instead of each head streaming the whole context again. Each head's arithmetic is the
 * per-head kernel's, in the same order (scores position by position, one vector accumulator per score, softmax with
 * {@link VectorExp}, values accumulated in position order, four accumulator vectors held in registers over a tile),
 * so the tiling changes no bit. K/V are F32 or bf16 (widened in registers). With 16 lanes, sixteen positions' scores
 * (F32 K) are finished together ({@link #scores16}): their dot vectors are summed by a transposed butterfly whose every add
 * is one of {@link Lanes#sum}'s, so each score has the same bits while the horizontal work is shared.
 * Allocates nothing: scores, sums and accumulators live in the caller's per-worker scratch.
 */
final class GroupedAttention {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int L = FS.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    /** Positions per tile: 64 rows of one K/V head (16 KB at head size 64, F32) fit L1 next to the queries. */
    static final int TILE = 64;
    /** Lanes with bit 3, 2, 1, 0 of their index set: the second operand's half at each butterfly stage. */
    private static final VectorMask<Float> M8 = mask(8);
    private static final VectorMask<Float> M4 = mask(4);
    private static final VectorMask<Float> M2 = mask(2);
    private static final VectorMask<Float> M1 = mask(1);
    private static final VectorShuffle<Float> X8 = swap(8);
    private static final VectorShuffle<Float> X4 = swap(4);
    private static final VectorShuffle<Float> X2 = swap(2);
    private static final VectorShuffle<Float> X1 = swap(1);

    private GroupedAttention() {
    }

    /** Floats of score scratch one worker needs for contexts up to {@code maxLength}. */
    static int scoreScratch(AttentionBatch b, int maxLength) {
        return b.groupSize() * (maxLength + 1);
    }

    /** Floats of accumulator scratch one worker needs. */
    static int accScratch(AttentionBatch b) {
        return b.groupSize() * b.headDim();
    }

    private static VectorMask<Float> mask(int bit) {
        boolean[] set = new boolean[L];
        for (int i = 0; i < L; i++) {
            set[i] = (i & bit) != 0;
        }
        return VectorMask.fromArray(FS, set, 0);
    }

    private static VectorShuffle<Float> swap(int bit) {
        return VectorShuffle.fromOp(FS, i -> (i ^ bit) & (L - 1));
    }

    /**
     * Token {@code t}'s query heads {@code kvHead * g .. kvHead * g + g - 1} over positions {@code [0, len)}.
     * {@code scores}: {@code [g, len]} then {@code g} sums; {@code acc}: {@code [g, headDim]}.
     */
    static void attend(AttentionBatch b, int t, int kvHead, int len, float[] scores, float[] acc) {
        attend(b, t, kvHead, len, scores, acc, 0, b.groupSize());
    }

    /**
     * As {@link #attend(AttentionBatch, int, int, int, float[], float[])} for the group's heads {@code [g0, g1)}
     * only (a batch of one token has fewer groups than threads: its heads are shared out in equal runs instead).
     */
    static void attend(AttentionBatch b, int t, int kvHead, int len, float[] scores, float[] acc, int g0, int g1) {
        int g = b.groupSize();
        int hd = b.headDim();
        boolean bf16 = b.kvDtype() == KvDtype.BFLOAT16;
        int eb = bf16 ? 2 : 4;
        long kvStride = (long) b.numKvHeads() * hd * eb;
        long headByte = (long) kvHead * hd * eb;
        int rowOff = b.tableOffsets()[t];
        int[] table = b.table();
        float[] q = b.q();
        MemorySegment keys = b.keys();
        MemorySegment values = b.values();
        int bound = FS.loopBound(hd);
        int qBase = t * b.numHeads() * hd + kvHead * g * hd;
        boolean by16 = L == 16 && bound == hd && !bf16;
        for (int j0 = 0; j0 < len; j0 += TILE) {
            int j1 = Math.min(len, j0 + TILE);
            for (int gi = g0; gi < g1; gi++) {
                int qOff = qBase + gi * hd;
                int sOff = gi * len;
                int j = j0;
                for (; by16 && j + 16 <= j1; j += 16) {
                    scores16(keys, table, rowOff + j, kvStride, headByte, q, qOff, hd, b.scale(), scores, sOff + j);
                }
                for (; j < j1; j++) {
                    long base = table[rowOff + j] * kvStride + headByte;
                    FloatVector dot = FloatVector.zero(FS);
                    int d = 0;
                    for (; d < bound; d += L) {
                        dot = FloatVector.fromArray(FS, q, qOff + d).fma(load(keys, base + (long) eb * d, bf16), dot);
                    }
                    float s = Lanes.sum(dot);
                    for (; d < hd; d++) {
                        s += q[qOff + d] * get(keys, base + (long) eb * d, bf16);
                    }
                    scores[sOff + j] = s * b.scale();
                }
            }
        }
        int sums = g * len;
        for (int gi = g0; gi < g1; gi++) {
            int sOff = gi * len;
            scores[sums + gi] = VectorExp.expMinusMaxAndSum(scores, sOff, len, max(scores, sOff, len));
        }
        java.util.Arrays.fill(acc, g0 * hd, g1 * hd, 0f);
        for (int j0 = 0; j0 < len; j0 += TILE) {
            int j1 = Math.min(len, j0 + TILE);
            for (int gi = g0; gi < g1; gi++) {
                int aOff = gi * hd;
                int sOff = gi * len;
                // Four accumulator vectors stay in registers over the whole tile (each lane still adds its
                // positions in ascending order, so the bits are those of a load-fma-store per position, without
                // the store-to-load dependency from one position to the next).
                int d = 0;
                for (; d + 4 * L <= bound; d += 4 * L) {
                    accumulate4(b, table, rowOff, j0, j1, kvStride, headByte + (long) eb * d, bf16, scores, sOff,
                            acc, aOff + d);
                }
                for (; d < bound; d += L) {
                    FloatVector a = FloatVector.fromArray(FS, acc, aOff + d);
                    for (int j = j0; j < j1; j++) {
                        long base = table[rowOff + j] * kvStride + headByte + (long) eb * d;
                        a = load(values, base, bf16).fma(FloatVector.broadcast(FS, scores[sOff + j]), a);
                    }
                    a.intoArray(acc, aOff + d);
                }
                for (; d < hd; d++) {
                    float a = acc[aOff + d];
                    for (int j = j0; j < j1; j++) {
                        a += scores[sOff + j] * get(values, table[rowOff + j] * kvStride + headByte + (long) eb * d,
                                bf16);
                    }
                    acc[aOff + d] = a;
                }
            }
        }
        float[] out = b.out();
        for (int gi = g0; gi < g1; gi++) {
            float inv = 1f / scores[sums + gi];
            int aOff = gi * hd;
            int oOff = qBase + gi * hd;
            for (int d = 0; d < hd; d++) {
                out[oOff + d] = acc[aOff + d] * inv;
            }
        }
    }

    /**
     * The scores of one head at the sixteen positions {@code table[at .. at + 16)} (16 lanes, head size a multiple of
     * 16), stored at {@code scores[s .. s + 16)}. Each position's dot vector is the per-position loop's (q·k by fma
     * into one accumulator, {@code d} ascending). Its butterfly sum is then done for all sixteen at once: at the stage
     * that pairs lane i with lane i^h, two vectors A and B are merged into one whose lanes without bit h hold A's
     * stage result and those with it B's ({@code A.blend(B) + B.blend(A).rearrange(i^h)}), so every add is the one
     * {@link Lanes#sum} makes, and after four stages lane i holds the score of the position whose accumulator came
     * bit-reversed(i)-th. The accumulators are therefore made in bit-reversed position order (below: 0, 8, 4, 12, ...),
     * and lane i ends up with position i.
     */
    private static void scores16(MemorySegment keys, int[] table, int at, long kvStride, long headByte, float[] q,
                                 int qOff, int hd, float scale, float[] scores, int s) {
        long a0 = table[at] * kvStride + headByte, a1 = table[at + 8] * kvStride + headByte;
        long a2 = table[at + 4] * kvStride + headByte, a3 = table[at + 12] * kvStride + headByte;
        long a4 = table[at + 2] * kvStride + headByte, a5 = table[at + 10] * kvStride + headByte;
        long a6 = table[at + 6] * kvStride + headByte, a7 = table[at + 14] * kvStride + headByte;
        long a8 = table[at + 1] * kvStride + headByte, a9 = table[at + 9] * kvStride + headByte;
        long a10 = table[at + 5] * kvStride + headByte, a11 = table[at + 13] * kvStride + headByte;
        long a12 = table[at + 3] * kvStride + headByte, a13 = table[at + 11] * kvStride + headByte;
        long a14 = table[at + 7] * kvStride + headByte, a15 = table[at + 15] * kvStride + headByte;
        FloatVector d0 = FloatVector.zero(FS), d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0, d6 = d0, d7 = d0;
        FloatVector d8 = d0, d9 = d0, d10 = d0, d11 = d0, d12 = d0, d13 = d0, d14 = d0, d15 = d0;
        // F32 K only: loads written out (a helper returning a vector may stay a call in a method this size, and
        // then box every vector it returns); bf16 K takes the per-position loop.
        for (int d = 0; d < hd; d += L) {
            FloatVector qv = FloatVector.fromArray(FS, q, qOff + d);
            long o = 4L * d;
            d0 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a0 + o, LE), d0);
            d1 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a1 + o, LE), d1);
            d2 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a2 + o, LE), d2);
            d3 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a3 + o, LE), d3);
            d4 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a4 + o, LE), d4);
            d5 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a5 + o, LE), d5);
            d6 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a6 + o, LE), d6);
            d7 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a7 + o, LE), d7);
            d8 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a8 + o, LE), d8);
            d9 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a9 + o, LE), d9);
            d10 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a10 + o, LE), d10);
            d11 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a11 + o, LE), d11);
            d12 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a12 + o, LE), d12);
            d13 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a13 + o, LE), d13);
            d14 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a14 + o, LE), d14);
            d15 = qv.fma(FloatVector.fromMemorySegment(FS, keys, a15 + o, LE), d15);
        }
        // Stage i^8: sixteen vectors into eight.
        d0 = d0.blend(d1, M8).add(d1.blend(d0, M8).rearrange(X8));
        d2 = d2.blend(d3, M8).add(d3.blend(d2, M8).rearrange(X8));
        d4 = d4.blend(d5, M8).add(d5.blend(d4, M8).rearrange(X8));
        d6 = d6.blend(d7, M8).add(d7.blend(d6, M8).rearrange(X8));
        d8 = d8.blend(d9, M8).add(d9.blend(d8, M8).rearrange(X8));
        d10 = d10.blend(d11, M8).add(d11.blend(d10, M8).rearrange(X8));
        d12 = d12.blend(d13, M8).add(d13.blend(d12, M8).rearrange(X8));
        d14 = d14.blend(d15, M8).add(d15.blend(d14, M8).rearrange(X8));
        // Stage i^4: eight into four.
        d0 = d0.blend(d2, M4).add(d2.blend(d0, M4).rearrange(X4));
        d4 = d4.blend(d6, M4).add(d6.blend(d4, M4).rearrange(X4));
        d8 = d8.blend(d10, M4).add(d10.blend(d8, M4).rearrange(X4));
        d12 = d12.blend(d14, M4).add(d14.blend(d12, M4).rearrange(X4));
        // Stage i^2: four into two.
        d0 = d0.blend(d4, M2).add(d4.blend(d0, M2).rearrange(X2));
        d8 = d8.blend(d12, M2).add(d12.blend(d8, M2).rearrange(X2));
        // Stage i^1: two into one; lane i now holds position at + i.
        d0 = d0.blend(d8, M1).add(d8.blend(d0, M1).rearrange(X1));
        d0.mul(scale).intoArray(scores, s);
    }

    /** {@code acc[a .. a + 4L) += Σ_j scores[sOff + j] · V[j][head .. head + 4L)} over positions {@code [j0, j1)}. */
    private static void accumulate4(AttentionBatch b, int[] table, int rowOff, int j0, int j1, long kvStride,
                                    long headByte, boolean bf16, float[] scores, int sOff, float[] acc, int a) {
        MemorySegment values = b.values();
        long vb = (long) L * (bf16 ? 2 : 4);
        FloatVector a0 = FloatVector.fromArray(FS, acc, a);
        FloatVector a1 = FloatVector.fromArray(FS, acc, a + L);
        FloatVector a2 = FloatVector.fromArray(FS, acc, a + 2 * L);
        FloatVector a3 = FloatVector.fromArray(FS, acc, a + 3 * L);
        for (int j = j0; j < j1; j++) {
            long base = table[rowOff + j] * kvStride + headByte;
            FloatVector p = FloatVector.broadcast(FS, scores[sOff + j]);
            a0 = load(values, base, bf16).fma(p, a0);
            a1 = load(values, base + vb, bf16).fma(p, a1);
            a2 = load(values, base + 2 * vb, bf16).fma(p, a2);
            a3 = load(values, base + 3 * vb, bf16).fma(p, a3);
        }
        a0.intoArray(acc, a);
        a1.intoArray(acc, a + L);
        a2.intoArray(acc, a + 2 * L);
        a3.intoArray(acc, a + 3 * L);
    }

    /** The largest of {@code s[off .. off + n)}. */
    private static float max(float[] s, int off, int n) {
        // Scalar on purpose: a vector max here kept a boxed vector in its loop in some C2 compilations (allocation
        // on the hot path), and the exp that follows costs far more than this loop.
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, s[off + j]);
        }
        return max;
    }

    private static FloatVector load(MemorySegment s, long at, boolean bf16) {
        return bf16 ? Bf16KvAttention.load(s, at) : FloatVector.fromMemorySegment(FS, s, at, LE);
    }

    private static float get(MemorySegment s, long at, boolean bf16) {
        return bf16 ? Bf16KvAttention.get(s, at) : s.get(F32, at);
    }
}
