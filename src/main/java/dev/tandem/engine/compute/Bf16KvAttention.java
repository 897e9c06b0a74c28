package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * One query head's attention over K/V stored as bf16 ({@code --kv-cache-dtype bf16}). The same loop and summation
 * order as the F32 kernel in {@link VectorBackend}; only the loads differ: {@code L} bf16 values are loaded as a
 * half-width short vector, sign-extended to ints and shifted into the upper half of each lane, which is exactly the
 * float they encode. So a bf16 pool gives the same bits as an F32 pool holding the same bf16-rounded values.
 * Allocates nothing (scores and accumulator are the caller's per-worker scratch).
 */
final class Bf16KvAttention {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SS = VectorSpecies.of(short.class,
            VectorShape.forBitSize(FS.vectorBitSize() / 2)); // L shorts: one float vector's worth of bf16
    private static final int L = FS.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private Bf16KvAttention() {
    }

    /** {@code L} bf16 values at byte {@code at} of {@code s}, widened to floats. */
    static FloatVector load(MemorySegment s, long at) {
        return ((IntVector) ShortVector.fromMemorySegment(SS, s, at, LE).convertShape(VectorOperators.S2I, IS, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    static float get(MemorySegment s, long at) {
        return Float.intBitsToFloat(s.get(BF16, at) << 16);
    }

    /** Query head {@code h} of token {@code t} over positions {@code [0, len)}; K/V head {@code kvHead}. */
    static void attendOneHead(AttentionBatch b, int t, int h, int kvHead, int len, float[] scores, float[] acc) {
        int hd = b.headDim();
        int qOff = t * b.numHeads() * hd + h * hd;
        long kvStride = (long) b.numKvHeads() * hd * 2;
        long headByte = (long) kvHead * hd * 2;
        int rowOff = b.tableOffsets()[t];
        int bound = FS.loopBound(hd);
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) {
            long base = b.table()[rowOff + j] * kvStride + headByte;
            FloatVector dot = FloatVector.zero(FS);
            int d = 0;
            for (; d < bound; d += L) {
                dot = FloatVector.fromArray(FS, b.q(), qOff + d).fma(load(b.keys(), base + 2L * d), dot);
            }
            float s = Lanes.sum(dot);
            for (; d < hd; d++) {
                s += b.q()[qOff + d] * get(b.keys(), base + 2L * d);
            }
            s *= b.scale();
            scores[j] = s;
            max = Math.max(max, s);
        }
        float sum = 0;
        for (int j = 0; j < len; j++) {
            float e = (float) Math.exp(scores[j] - max);
            scores[j] = e;
            sum += e;
        }
        java.util.Arrays.fill(acc, 0, hd, 0f);
        for (int j = 0; j < len; j++) {
            long base = b.table()[rowOff + j] * kvStride + headByte;
            FloatVector p = FloatVector.broadcast(FS, scores[j]);
            int d = 0;
            for (; d < bound; d += L) {
                load(b.values(), base + 2L * d).fma(p, FloatVector.fromArray(FS, acc, d)).intoArray(acc, d);
            }
            for (; d < hd; d++) {
                acc[d] += scores[j] * get(b.values(), base + 2L * d);
            }
        }
        float inv = 1f / sum;
        for (int d = 0; d < hd; d++) {
            b.out()[qOff + d] = acc[d] * inv;
        }
    }
}
