package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;

import java.lang.foreign.MemorySegment;

import static dev.tandem.engine.compute.AttentionBlocks.FS;
import static dev.tandem.engine.compute.AttentionBlocks.IS;
import static dev.tandem.engine.compute.AttentionBlocks.L;
import static dev.tandem.engine.compute.AttentionBlocks.LE;
import static dev.tandem.engine.compute.AttentionBlocks.M4;
import static dev.tandem.engine.compute.AttentionBlocks.M8;
import static dev.tandem.engine.compute.AttentionBlocks.ORDER;
import static dev.tandem.engine.compute.AttentionBlocks.S4;
import static dev.tandem.engine.compute.AttentionBlocks.S8;
import static dev.tandem.engine.compute.AttentionBlocks.SS;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;

/**
 * The score blocks of {@link AttentionBlocks} for three query heads of one GQA group at once: each position's K
 * vectors are loaded (and, for bf16, widened) once and used by all three heads, where three calls of the one-head
 * block loaded them three times. Every score is computed exactly as the one-head block computes it (zero, then the
 * head's four FMAs in ascending order, then the same four levels of pairwise adds, then the scale), so it gives the
 * same bits. An isolated single-thread loop over a 512-token prefill's scores (9 heads over 3, head size 64, F32,
 * each head's blocks over the whole context) took 1.6 ms a layer against 3.8 ms for the one-head block; in the model,
 * where the one-head blocks of a group's later heads already found the K tile in L1, it is less: same-model switch
 * A/B, prefill of 512 tokens +2.6% (quartiles +1.0 to +3.0%), batch-32 decode +2.5% (noisy), batch 1 unchanged.
 *
 * <p>{@code q[qOff ..]} holds the three heads' queries one after the other ({@code 4L} floats each); head {@code h}'s
 * scores go to {@code scores[sOff + h·len + j0 ..]}; {@code tmp[tOff .. tOff + SCRATCH)} is scratch.
 *
 * <p>{@code last}: the block's last position inside the context ({@code L - 1} for a whole block). A chunk's last
 * few positions run as a block too, the positions past {@code last} reading position {@code last}'s K row again
 * (its lanes are dropped; a lane's score depends on its own position's row only), instead of one {@code dot} per
 * position, head by head: a vector reduction per score whose latency nothing hid. Same bits (GroupedAttentionTest).
 * A small gain: bench-engine --phases, old/new alternating, 5 pairs: attention's share of a 512-token prefill
 * 22.6 → 21.7% (medians; spreads 20.5-24.3 and 21.2-22.3), of batch-32 decode 14.7 → 14.4% (within the noise).
 */
final class GroupScoreBlocks {
    /** Floats of scratch a call needs: four partly reduced vectors per head, and one block's scores. */
    static final int SCRATCH = 13 * L;

    private GroupScoreBlocks() {
    }

    /** Three heads' scores of the 16 positions {@code j0 .. j0 + 15}, K stored as F32. */
    static void scores16x3F32(float[] q, int qOff, MemorySegment keys, int[] table, int rowOff, int j0, long kvStride,
                      long headByte, float scale, float[] scores, int sOff, int len, float[] tmp, int tOff, int last) {
        long vb = (long) L * Float.BYTES;
        int hd = 4 * L;
        FloatVector q00 = FloatVector.fromArray(FS, q, qOff), q01 = FloatVector.fromArray(FS, q, qOff + L);
        FloatVector q02 = FloatVector.fromArray(FS, q, qOff + 2 * L), q03 = FloatVector.fromArray(FS, q, qOff + 3 * L);
        FloatVector q10 = FloatVector.fromArray(FS, q, qOff + hd), q11 = FloatVector.fromArray(FS, q, qOff + hd + L);
        FloatVector q12 = FloatVector.fromArray(FS, q, qOff + hd + 2 * L), q13 = FloatVector.fromArray(FS, q, qOff + hd + 3 * L);
        FloatVector q20 = FloatVector.fromArray(FS, q, qOff + 2 * hd), q21 = FloatVector.fromArray(FS, q, qOff + 2 * hd + L);
        FloatVector q22 = FloatVector.fromArray(FS, q, qOff + 2 * hd + 2 * L), q23 = FloatVector.fromArray(FS, q, qOff + 2 * hd + 3 * L);
        FloatVector z = FloatVector.zero(FS);
        for (int m = 0; m < 4; m++) {
            int o = rowOff + j0;
            // Positions one at a time: its four K vectors, then each head's dot in the per-position order.
            long b0 = table[o + Math.min(ORDER[4 * m], last)] * kvStride + headByte;
            FloatVector k0 = FloatVector.fromMemorySegment(FS, keys, b0, LE);
            FloatVector k1 = FloatVector.fromMemorySegment(FS, keys, b0 + vb, LE);
            FloatVector k2 = FloatVector.fromMemorySegment(FS, keys, b0 + 2 * vb, LE);
            FloatVector k3 = FloatVector.fromMemorySegment(FS, keys, b0 + 3 * vb, LE);
            FloatVector d00 = q03.fma(k3, q02.fma(k2, q01.fma(k1, q00.fma(k0, z))));
            FloatVector d10 = q13.fma(k3, q12.fma(k2, q11.fma(k1, q10.fma(k0, z))));
            FloatVector d20 = q23.fma(k3, q22.fma(k2, q21.fma(k1, q20.fma(k0, z))));
            long b1 = table[o + Math.min(ORDER[4 * m + 1], last)] * kvStride + headByte;
            k0 = FloatVector.fromMemorySegment(FS, keys, b1, LE);
            k1 = FloatVector.fromMemorySegment(FS, keys, b1 + vb, LE);
            k2 = FloatVector.fromMemorySegment(FS, keys, b1 + 2 * vb, LE);
            k3 = FloatVector.fromMemorySegment(FS, keys, b1 + 3 * vb, LE);
            FloatVector d01 = q03.fma(k3, q02.fma(k2, q01.fma(k1, q00.fma(k0, z))));
            FloatVector d11 = q13.fma(k3, q12.fma(k2, q11.fma(k1, q10.fma(k0, z))));
            FloatVector d21 = q23.fma(k3, q22.fma(k2, q21.fma(k1, q20.fma(k0, z))));
            // Width 8 over positions 0 and 1, per head.
            FloatVector p00 = d00.blend(d01, M8).add(d01.blend(d00, M8).rearrange(S8));
            FloatVector p10 = d10.blend(d11, M8).add(d11.blend(d10, M8).rearrange(S8));
            FloatVector p20 = d20.blend(d21, M8).add(d21.blend(d20, M8).rearrange(S8));
            long b2 = table[o + Math.min(ORDER[4 * m + 2], last)] * kvStride + headByte;
            k0 = FloatVector.fromMemorySegment(FS, keys, b2, LE);
            k1 = FloatVector.fromMemorySegment(FS, keys, b2 + vb, LE);
            k2 = FloatVector.fromMemorySegment(FS, keys, b2 + 2 * vb, LE);
            k3 = FloatVector.fromMemorySegment(FS, keys, b2 + 3 * vb, LE);
            d00 = q03.fma(k3, q02.fma(k2, q01.fma(k1, q00.fma(k0, z))));
            d10 = q13.fma(k3, q12.fma(k2, q11.fma(k1, q10.fma(k0, z))));
            d20 = q23.fma(k3, q22.fma(k2, q21.fma(k1, q20.fma(k0, z))));
            long b3 = table[o + Math.min(ORDER[4 * m + 3], last)] * kvStride + headByte;
            k0 = FloatVector.fromMemorySegment(FS, keys, b3, LE);
            k1 = FloatVector.fromMemorySegment(FS, keys, b3 + vb, LE);
            k2 = FloatVector.fromMemorySegment(FS, keys, b3 + 2 * vb, LE);
            k3 = FloatVector.fromMemorySegment(FS, keys, b3 + 3 * vb, LE);
            d01 = q03.fma(k3, q02.fma(k2, q01.fma(k1, q00.fma(k0, z))));
            d11 = q13.fma(k3, q12.fma(k2, q11.fma(k1, q10.fma(k0, z))));
            d21 = q23.fma(k3, q22.fma(k2, q21.fma(k1, q20.fma(k0, z))));
            // Width 8 over positions 2 and 3, per head.
            FloatVector p01 = d00.blend(d01, M8).add(d01.blend(d00, M8).rearrange(S8));
            FloatVector p11 = d10.blend(d11, M8).add(d11.blend(d10, M8).rearrange(S8));
            FloatVector p21 = d20.blend(d21, M8).add(d21.blend(d20, M8).rearrange(S8));
            // Width 4, per head.
            p00.blend(p01, M4).add(p01.blend(p00, M4).rearrange(S4)).intoArray(tmp, tOff + m * L);
            p10.blend(p11, M4).add(p11.blend(p10, M4).rearrange(S4)).intoArray(tmp, tOff + 4 * L + m * L);
            p20.blend(p21, M4).add(p21.blend(p20, M4).rearrange(S4)).intoArray(tmp, tOff + 8 * L + m * L);
        }
        for (int h = 0; h < 3; h++) {
            AttentionBlocks.finishBlock(tmp, tOff + 4 * h * L, scale, scores, sOff + h * len + j0, last,
                    tOff + 12 * L);
        }
    }

    /** As {@link #scores16x3F32}, K stored as bf16 (widened in registers as {@link Bf16KvAttention} does). */
    static void scores16x3Bf16(float[] q, int qOff, MemorySegment keys, int[] table, int rowOff, int j0, long kvStride,
                      long headByte, float scale, float[] scores, int sOff, int len, float[] tmp, int tOff, int last) {
        long vb = (long) L * 2; // bf16
        int hd = 4 * L;
        FloatVector q00 = FloatVector.fromArray(FS, q, qOff), q01 = FloatVector.fromArray(FS, q, qOff + L);
        FloatVector q02 = FloatVector.fromArray(FS, q, qOff + 2 * L), q03 = FloatVector.fromArray(FS, q, qOff + 3 * L);
        FloatVector q10 = FloatVector.fromArray(FS, q, qOff + hd), q11 = FloatVector.fromArray(FS, q, qOff + hd + L);
        FloatVector q12 = FloatVector.fromArray(FS, q, qOff + hd + 2 * L), q13 = FloatVector.fromArray(FS, q, qOff + hd + 3 * L);
        FloatVector q20 = FloatVector.fromArray(FS, q, qOff + 2 * hd), q21 = FloatVector.fromArray(FS, q, qOff + 2 * hd + L);
        FloatVector q22 = FloatVector.fromArray(FS, q, qOff + 2 * hd + 2 * L), q23 = FloatVector.fromArray(FS, q, qOff + 2 * hd + 3 * L);
        FloatVector z = FloatVector.zero(FS);
        for (int m = 0; m < 4; m++) {
            int o = rowOff + j0;
            // Positions one at a time: its four K vectors, then each head's dot in the per-position order.
            long b0 = table[o + Math.min(ORDER[4 * m], last)] * kvStride + headByte;
            FloatVector k0 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b0, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector k1 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b0 + vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector k2 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b0 + 2 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector k3 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b0 + 3 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector d00 = q03.fma(k3, q02.fma(k2, q01.fma(k1, q00.fma(k0, z))));
            FloatVector d10 = q13.fma(k3, q12.fma(k2, q11.fma(k1, q10.fma(k0, z))));
            FloatVector d20 = q23.fma(k3, q22.fma(k2, q21.fma(k1, q20.fma(k0, z))));
            long b1 = table[o + Math.min(ORDER[4 * m + 1], last)] * kvStride + headByte;
            k0 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b1, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            k1 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b1 + vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            k2 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b1 + 2 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            k3 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b1 + 3 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector d01 = q03.fma(k3, q02.fma(k2, q01.fma(k1, q00.fma(k0, z))));
            FloatVector d11 = q13.fma(k3, q12.fma(k2, q11.fma(k1, q10.fma(k0, z))));
            FloatVector d21 = q23.fma(k3, q22.fma(k2, q21.fma(k1, q20.fma(k0, z))));
            // Width 8 over positions 0 and 1, per head.
            FloatVector p00 = d00.blend(d01, M8).add(d01.blend(d00, M8).rearrange(S8));
            FloatVector p10 = d10.blend(d11, M8).add(d11.blend(d10, M8).rearrange(S8));
            FloatVector p20 = d20.blend(d21, M8).add(d21.blend(d20, M8).rearrange(S8));
            long b2 = table[o + Math.min(ORDER[4 * m + 2], last)] * kvStride + headByte;
            k0 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b2, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            k1 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b2 + vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            k2 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b2 + 2 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            k3 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b2 + 3 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            d00 = q03.fma(k3, q02.fma(k2, q01.fma(k1, q00.fma(k0, z))));
            d10 = q13.fma(k3, q12.fma(k2, q11.fma(k1, q10.fma(k0, z))));
            d20 = q23.fma(k3, q22.fma(k2, q21.fma(k1, q20.fma(k0, z))));
            long b3 = table[o + Math.min(ORDER[4 * m + 3], last)] * kvStride + headByte;
            k0 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b3, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            k1 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b3 + vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            k2 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b3 + 2 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            k3 = ((IntVector) ShortVector.fromMemorySegment(SS, keys, b3 + 3 * vb, LE)
                    .convertShape(S2I, IS, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            d01 = q03.fma(k3, q02.fma(k2, q01.fma(k1, q00.fma(k0, z))));
            d11 = q13.fma(k3, q12.fma(k2, q11.fma(k1, q10.fma(k0, z))));
            d21 = q23.fma(k3, q22.fma(k2, q21.fma(k1, q20.fma(k0, z))));
            // Width 8 over positions 2 and 3, per head.
            FloatVector p01 = d00.blend(d01, M8).add(d01.blend(d00, M8).rearrange(S8));
            FloatVector p11 = d10.blend(d11, M8).add(d11.blend(d10, M8).rearrange(S8));
            FloatVector p21 = d20.blend(d21, M8).add(d21.blend(d20, M8).rearrange(S8));
            // Width 4, per head.
            p00.blend(p01, M4).add(p01.blend(p00, M4).rearrange(S4)).intoArray(tmp, tOff + m * L);
            p10.blend(p11, M4).add(p11.blend(p10, M4).rearrange(S4)).intoArray(tmp, tOff + 4 * L + m * L);
            p20.blend(p21, M4).add(p21.blend(p20, M4).rearrange(S4)).intoArray(tmp, tOff + 8 * L + m * L);
        }
        for (int h = 0; h < 3; h++) {
            AttentionBlocks.finishBlock(tmp, tOff + 4 * h * L, scale, scores, sOff + h * len + j0, last,
                    tOff + 12 * L);
        }
    }
}
