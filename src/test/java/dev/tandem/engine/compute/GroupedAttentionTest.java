package dev.tandem.engine.compute;

import dev.tandem.config.KvDtype;
import dev.tandem.kvcache.KvPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attention that reads each K/V tile once for the whole GQA group gives exactly the bits of the per-head kernel it
 * replaced (copied below as the reference): same arithmetic per head, in the same order. Group sizes 1, 3 and 4,
 * contexts shorter than, equal to and several times a tile, a head size with a scalar tail; a batch of one token
 * (heads shared out in equal runs, a group split between threads) and of several (a group per unit; with 16
 * decode rows a piece holds whole tokens, whose K/V rows are touched at once). With 16 lanes, F32 scores go sixteen positions
 * at a time through the transposed butterfly; contexts of 1, 64, 65, 210 and 234 take it with and without a remainder.
 */
class GroupedAttentionTest {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int L = FS.length();

    @Test
    void sameBitsAsThePerHeadKernel() {
        int[][] shapes = {{4, 4}, {9, 3}, {12, 3}}; // heads, kv heads
        for (int[] sh : shapes) {
            for (int hd : new int[] {64, 2 * L + 3}) {
                int[] batch = {0, GroupedAttention.TILE - 1, GroupedAttention.TILE, 3 * GroupedAttention.TILE + 17};
                check(sh[0], sh[1], hd, batch, new int[] {0, 0, 512, 512});
                // One token: fewer groups than threads, so its query heads are shared out in equal runs.
                check(sh[0], sh[1], hd, new int[] {3 * GroupedAttention.TILE + 41}, new int[] {512});
                // One token over 600 positions: at head size 64 a thread's two groups hold 614 KB of K+V (more than
                // OWN_L2_BYTES), so each thread touches its half of the whole rows instead of its heads.
                check(sh[0], sh[1], hd, new int[] {599}, new int[] {0});
                // A decode step of 16 rows: each piece holds whole tokens, whose K/V rows are touched at once.
                int[] positions = new int[16];
                int[] offsets = new int[16];
                for (int i = 0; i < positions.length; i++) {
                    positions[i] = 5 + 3 * i;
                    offsets[i] = 60 * i;
                }
                check(sh[0], sh[1], hd, positions, offsets);
            }
        }
    }

    /**
     * K/V are touched ahead only for a sequence's first token in the batch (a decode step's token, a chunk's first;
     * the chunk's later tokens find them warm) and only while one head's K+V fit {@code TOUCH_MAX_BYTES}. The bits
     * with the touch in place are checked above (tokens 0 and 2 there are first of their rows).
     */
    @Test
    void onlyASequencesFirstTokenWithAContextThatFitsIsTouched() {
        AttentionBatch b = new AttentionBatch(new float[0], new float[0], 4, new int[] {5, 6, 9, 9},
                new int[] {0, 0, 512, 1024}, new int[2048], null, null, 9, 3, 64, 1f);
        long headBytes = 64 * 4;
        assertTrue(GroupedAttention.coldContext(b, 0, 6, headBytes), "first token of row 0");
        assertFalse(GroupedAttention.coldContext(b, 1, 7, headBytes), "second token of row 0: warm");
        assertTrue(GroupedAttention.coldContext(b, 2, 10, headBytes), "first token of row 1");
        assertTrue(GroupedAttention.coldContext(b, 3, 10, headBytes), "first token of row 2");
        int fits = (int) (GroupedAttention.TOUCH_MAX_BYTES / (2 * headBytes));
        assertTrue(GroupedAttention.coldContext(b, 0, fits, headBytes), fits + " positions fit");
        assertFalse(GroupedAttention.coldContext(b, 0, fits + 1, headBytes), (fits + 1) + " positions do not");
    }

    /**
     * A token whose groups one worker attends all together has its whole K/V rows touched at once, under the same
     * rule with the row's bytes (every K/V head) in place of one head's; the bits with it in place are checked above
     * (the batched cases put whole tokens in a piece).
     */
    @Test
    void wholeRowsAreTouchedUnderTheSameRuleWithTheRowsBytes() {
        long rowBytes = 3 * 64 * 4;
        int fits = (int) (GroupedAttention.TOUCH_MAX_BYTES / (2 * rowBytes));
        int slots = 1024;
        try (KvPool pool = new KvPool(1, slots, 1, 3, 64)) {
            int[] table = new int[2 * (fits + 1)]; // row 0 from 0, row 1 from `slots`, both mapped into the pool
            for (int i = 0; i < table.length; i++) {
                table[i] = (i * 131 + 7) % slots;
            }
            AttentionBatch b = new AttentionBatch(new float[0], new float[0], 3, new int[] {fits - 1, fits, fits},
                    new int[] {0, 0, fits + 1}, table, pool.keys(0), pool.values(0), 9, 3, 64, 1f);
            assertTrue(GroupedAttention.touchRowsIfCold(b, 0, fits), fits + " positions of a first token fit");
            assertFalse(GroupedAttention.touchRowsIfCold(b, 1, fits + 1), "second token of row 0: warm");
            assertFalse(GroupedAttention.touchRowsIfCold(b, 2, fits + 1), (fits + 1) + " positions do not fit");
            assertTrue(GroupedAttention.coldContext(b, 2, fits + 1, 64 * 4), "but one head of them does");
        }
    }

    /**
     * A decode step of one token, heads shared out by thread: each thread touches its share of the whole rows
     * instead of its heads' chunks once those would be more than {@code OWN_L2_BYTES}, counted over the groups its
     * run of heads touches; never for more than one token, an empty run, or rows over {@code TOUCH_MAX_BYTES}.
     */
    @Test
    void aSingleTokensRowsAreSharedOutOnlyWhenItsHeadsWouldNotFitAThreadsL2() {
        long headBytes = 64 * 4;
        int over = (int) (GroupedAttention.OWN_L2_BYTES / (2 * headBytes * 2)) + 1; // two groups' K+V just over
        int tooLong = (int) (GroupedAttention.TOUCH_MAX_BYTES / (2 * 3 * headBytes)) + 1;
        int slots = 1024;
        try (KvPool pool = new KvPool(1, slots, 1, 3, 64)) {
            int[] table = new int[tooLong + 1];
            for (int i = 0; i < table.length; i++) {
                table[i] = (i * 131 + 7) % slots;
            }
            AttentionBatch one = new AttentionBatch(new float[0], new float[0], 1, new int[] {over - 1}, new int[] {0},
                    table, pool.keys(0), pool.values(0), 9, 3, 64, 1f);
            assertTrue(GroupedAttention.touchRowShareIfCold(one, 0, 5, 0, 2), "heads 0-4 span two groups: over");
            assertTrue(GroupedAttention.touchRowShareIfCold(one, 5, 9, 1, 2), "heads 5-8 span two groups: over");
            assertFalse(GroupedAttention.touchRowShareIfCold(one, 0, 3, 0, 3), "heads 0-2 are one group: under");
            assertFalse(GroupedAttention.touchRowShareIfCold(one, 4, 4, 1, 2), "no heads");
            one.set(new float[0], new float[0], 1, new int[] {over - 2}, new int[] {0}, table, 9, 3, 64, 1f);
            assertFalse(GroupedAttention.touchRowShareIfCold(one, 0, 5, 0, 2), "one position fewer: under");
            one.set(new float[0], new float[0], 1, new int[] {tooLong - 1}, new int[] {0}, table, 9, 3, 64, 1f);
            assertFalse(GroupedAttention.touchRowShareIfCold(one, 0, 5, 0, 2), "rows over TOUCH_MAX_BYTES");
            AttentionBatch two = new AttentionBatch(new float[0], new float[0], 2, new int[] {over - 1, over - 1},
                    new int[] {0, 0}, table, pool.keys(0), pool.values(0), 9, 3, 64, 1f);
            assertFalse(GroupedAttention.touchRowShareIfCold(two, 0, 5, 0, 2), "two tokens");
        }
    }

    private static void check(int heads, int kvHeads, int hd, int[] positions, int[] tableOffsets) {
        check(heads, kvHeads, hd, positions, tableOffsets, KvDtype.FLOAT32);
        check(heads, kvHeads, hd, positions, tableOffsets, KvDtype.BFLOAT16);
    }

    /**
     * Attention over K/V stored as {@code dtype} against {@link #perHead} over an F32 pool holding the same values
     * (for bf16, the rounded ones: widening is exact, so the kernels see the same inputs and must give the same bits).
     */
    private static void check(int heads, int kvHeads, int hd, int[] positions, int[] tableOffsets, KvDtype dtype) {
        int slots = 512;
        SplittableRandom r = new SplittableRandom(heads * 100 + hd);
        try (KvPool pool = new KvPool(1, slots, 1, kvHeads, hd, null, dtype);
             KvPool f32 = new KvPool(1, slots, 1, kvHeads, hd);
             VectorBackend vector = new VectorBackend(2)) {
            int kvDim = kvHeads * hd;
            float[] k = new float[kvDim];
            float[] v = new float[kvDim];
            for (int s = 0; s < slots; s++) {
                for (int d = 0; d < kvDim; d++) {
                    k[d] = (float) r.nextGaussian();
                    v[d] = (float) r.nextGaussian();
                }
                pool.write(0, s, k, 0, v, 0);
                for (int d = 0; d < kvDim; d++) {
                    k[d] = pool.get(pool.keys(0), (long) s * kvDim + d);
                    v[d] = pool.get(pool.values(0), (long) s * kvDim + d);
                }
                f32.write(0, s, k, 0, v, 0);
            }
            int[] table = new int[1024];
            for (int i = 0; i < table.length; i++) {
                table[i] = (i * 131 + 7) % slots;
            }
            int tokens = positions.length;
            float[] q = new float[tokens * heads * hd];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) r.nextGaussian();
            }
            float scale = (float) (1 / Math.sqrt(hd));
            float[] got = new float[q.length];
            AttentionBatch b = new AttentionBatch(q, got, tokens, positions, tableOffsets, table, pool.keys(0),
                    pool.values(0), heads, kvHeads, hd, scale).kvDtype(dtype);
            vector.attention(b);
            float[] want = new float[q.length];
            AttentionBatch ref = new AttentionBatch(q, want, tokens, positions, tableOffsets, table, f32.keys(0),
                    f32.values(0), heads, kvHeads, hd, scale);
            float[] scores = new float[1024];
            float[] acc = new float[hd];
            for (int t = 0; t < tokens; t++) {
                for (int h = 0; h < heads; h++) {
                    perHead(ref, t, h, h / (heads / kvHeads), positions[t] + 1, scores, acc);
                }
            }
            assertArrayEquals(want, got, heads + " heads over " + kvHeads + ", head size " + hd + ", K/V " + dtype);
            boolean nonZero = false;
            for (float x : got) {
                nonZero |= x != 0;
            }
            assertTrue(nonZero);
        }
    }

    /** The per-head kernel before grouping (F32 K/V), verbatim in its arithmetic but for the softmax's exp and sum. */
    private static void perHead(AttentionBatch b, int t, int h, int kvHead, int len, float[] scores, float[] acc) {
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        int hd = b.headDim();
        int qOff = t * b.numHeads() * hd + h * hd;
        long kvStride = (long) b.numKvHeads() * hd * Float.BYTES;
        long headByte = (long) kvHead * hd * Float.BYTES;
        int rowOff = b.tableOffsets()[t];
        int bound = FS.loopBound(hd);
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) {
            long base = b.table()[rowOff + j] * kvStride + headByte;
            FloatVector dot = FloatVector.zero(FS);
            int d = 0;
            for (; d < bound; d += L) {
                dot = FloatVector.fromArray(FS, b.q(), qOff + d)
                        .fma(FloatVector.fromMemorySegment(FS, b.keys(), base + 4L * d, le), dot);
            }
            float s = Lanes.sum(dot);
            for (; d < hd; d++) {
                s += b.q()[qOff + d] * b.keys().get(ValueLayout.JAVA_FLOAT_UNALIGNED, base + 4L * d);
            }
            s *= b.scale();
            scores[j] = s;
            max = Math.max(max, s);
        }
        float sum = VectorExp.expMinusMaxAndSum(scores, 0, len, max); // the softmax's own exp (VectorExpTest)
        java.util.Arrays.fill(acc, 0, hd, 0f);
        for (int j = 0; j < len; j++) {
            long base = b.table()[rowOff + j] * kvStride + headByte;
            FloatVector p = FloatVector.broadcast(FS, scores[j]);
            int d = 0;
            for (; d < bound; d += L) {
                FloatVector.fromMemorySegment(FS, b.values(), base + 4L * d, le)
                        .fma(p, FloatVector.fromArray(FS, acc, d)).intoArray(acc, d);
            }
            for (; d < hd; d++) {
                acc[d] += scores[j] * b.values().get(ValueLayout.JAVA_FLOAT_UNALIGNED, base + 4L * d);
            }
        }
        float inv = 1f / sum;
        for (int d = 0; d < hd; d++) {
            b.out()[qOff + d] = acc[d] * inv;
        }
    }
}
