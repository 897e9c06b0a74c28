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
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attention that reads each K/V tile once for the whole GQA group gives exactly the bits of the per-head kernel it
 * replaced, run over softmax chunks as AttentionChunks defines (copied below as the reference): same arithmetic per
 * head, in the same order. Group sizes 1, 3 and 4, contexts shorter than, equal to and several times a tile, a head
 * size with a scalar tail; a batch of one token (over one chunk: heads shared out in equal runs, a group split
 * between threads; over several: its chunks shared out) and of several (a group per unit; with 16 decode rows a piece
 * holds whole tokens, whose K/V rows are touched at once; two tokens of two groups on three threads: heads in runs
 * over contexts of several chunks). With 16 lanes, F32 scores go sixteen positions at a time through the transposed
 * butterfly; contexts of 1, 64, 65, 210 and 234 take it with and without a remainder.
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
                // One token over four chunks, the last partial.
                check(sh[0], sh[1], hd, new int[] {3 * GroupedAttention.TILE + 41}, new int[] {512});
                // One token over 600 positions: its ten chunks are shared out between the threads (where its groups
                // are fewer than twice the threads: shape 4/4 on three threads, 9/3 and 12/3 on two and three).
                check(sh[0], sh[1], hd, new int[] {599}, new int[] {0});
                // One token over one chunk: its query heads are shared out instead.
                check(sh[0], sh[1], hd, new int[] {GroupedAttention.TILE - 1}, new int[] {0});
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
        for (int hd : new int[] {64, 2 * L + 3}) {
            // Two tokens, two groups of two heads each, on three threads: query heads in runs of 2-3, so groups are
            // split between threads (g0 > 0) over contexts of two and three chunks.
            check(4, 2, hd, new int[] {100, 130}, new int[] {0, 512});
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
     * The chunk combine: one chunk gives exactly {@code acc · (1 / sum)} (the unchunked softmax's bits); several
     * chunks, rescaled to the largest maximum, agree with a float64 softmax over the whole context.
     */
    @Test
    void chunkPartialsCombineToTheWholeSoftmax() {
        int hd = 2 * L + 3; // lanes and a scalar tail
        int stride = AttentionChunks.stride(hd);
        SplittableRandom r = new SplittableRandom(5);
        float[] one = new float[stride];
        one[0] = 0.75f;
        one[1] = 3.5f;
        for (int d = 0; d < hd; d++) {
            one[2 + d] = (float) r.nextGaussian();
        }
        float[] out = new float[hd];
        AttentionChunks.combine(one, 0, stride, 1, hd, out, 0);
        for (int d = 0; d < hd; d++) {
            assertEquals(Float.floatToRawIntBits(one[2 + d] * (1f / 3.5f)), Float.floatToRawIntBits(out[d]),
                    "one chunk, element " + d);
        }
        // A context of 150 positions (chunks of 64, 64, 22): scores and values at random, partials per chunk.
        int len = 150;
        double[] s = new double[len];
        double[][] v = new double[len][hd];
        for (int j = 0; j < len; j++) {
            s[j] = 4 * r.nextGaussian();
            for (int d = 0; d < hd; d++) {
                v[j][d] = r.nextGaussian();
            }
        }
        int chunks = AttentionChunks.count(len);
        float[] part = new float[chunks * stride];
        for (int c = 0; c < chunks; c++) {
            int j0 = c * AttentionChunks.CHUNK;
            int j1 = Math.min(len, j0 + AttentionChunks.CHUNK);
            double m = Double.NEGATIVE_INFINITY;
            for (int j = j0; j < j1; j++) {
                m = Math.max(m, (float) s[j]);
            }
            double l = 0;
            double[] acc = new double[hd];
            for (int j = j0; j < j1; j++) {
                double p = Math.exp((float) s[j] - m);
                l += p;
                for (int d = 0; d < hd; d++) {
                    acc[d] += p * (float) v[j][d];
                }
            }
            part[c * stride] = (float) m;
            part[c * stride + 1] = (float) l;
            for (int d = 0; d < hd; d++) {
                part[c * stride + 2 + d] = (float) acc[d];
            }
        }
        AttentionChunks.combine(part, 0, stride, chunks, hd, out, 0);
        double max = Double.NEGATIVE_INFINITY;
        for (double x : s) {
            max = Math.max(max, (float) x);
        }
        double sum = 0;
        for (double x : s) {
            sum += Math.exp((float) x - max);
        }
        for (int d = 0; d < hd; d++) {
            double want = 0;
            for (int j = 0; j < len; j++) {
                want += Math.exp((float) s[j] - max) / sum * (float) v[j][d];
            }
            assertEquals(want, out[d], 1e-5, "element " + d + " of " + chunks + " chunks");
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
             VectorBackend one = new VectorBackend(1);
             VectorBackend two = new VectorBackend(2);
             VectorBackend three = new VectorBackend(3)) {
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
            boolean nonZero = false;
            for (float x : want) {
                nonZero |= x != 0;
            }
            assertTrue(nonZero);
            // One thread runs every group whole; two and three share a lone token's chunks, or its heads.
            for (VectorBackend vector : new VectorBackend[] {one, two, three}) {
                float[] got = new float[q.length];
                vector.attention(new AttentionBatch(q, got, tokens, positions, tableOffsets, table, pool.keys(0),
                        pool.values(0), heads, kvHeads, hd, scale).kvDtype(dtype));
                assertArrayEquals(want, got, heads + " heads over " + kvHeads + ", head size " + hd + ", K/V "
                        + dtype + ", " + vector.threads() + " threads");
            }
        }
    }

    /**
     * The per-head kernel before grouping (F32 K/V), verbatim in its arithmetic but for the softmax's exp and sum,
     * over each chunk of {@code AttentionChunks.CHUNK} positions; the chunks' partials meet as {@code AttentionChunks}
     * defines (written out here in scalar form: products and sums rounded apart, weights from the scalar VectorExp.exp).
     */
    private static void perHead(AttentionBatch b, int t, int h, int kvHead, int len, float[] scores, float[] acc) {
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        int hd = b.headDim();
        int qOff = t * b.numHeads() * hd + h * hd;
        long kvStride = (long) b.numKvHeads() * hd * Float.BYTES;
        long headByte = (long) kvHead * hd * Float.BYTES;
        int rowOff = b.tableOffsets()[t];
        int bound = FS.loopBound(hd);
        int chunks = (len + AttentionChunks.CHUNK - 1) / AttentionChunks.CHUNK;
        float[] m = new float[chunks];
        float[] l = new float[chunks];
        float[][] a = new float[chunks][hd];
        for (int c = 0; c < chunks; c++) {
            int j0 = c * AttentionChunks.CHUNK;
            int n = Math.min(len - j0, AttentionChunks.CHUNK);
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                long base = b.table()[rowOff + j0 + j] * kvStride + headByte;
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
            m[c] = max;
            l[c] = VectorExp.expMinusMaxAndSum(scores, 0, n, max); // the softmax's own exp (VectorExpTest)
            java.util.Arrays.fill(acc, 0, hd, 0f);
            for (int j = 0; j < n; j++) {
                long base = b.table()[rowOff + j0 + j] * kvStride + headByte;
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
            System.arraycopy(acc, 0, a[c], 0, hd);
        }
        float top = Float.NEGATIVE_INFINITY;
        for (float x : m) {
            top = Math.max(top, x);
        }
        float sum = 0f;
        float[] o = new float[hd];
        for (int c = 0; c < chunks; c++) {
            float w = m[c] == top ? 1f : VectorExp.exp(m[c] - top);
            sum = c == 0 ? l[c] * w : sum + l[c] * w;
            for (int d = 0; d < hd; d++) {
                o[d] = c == 0 ? a[c][d] * w : o[d] + a[c][d] * w;
            }
        }
        float inv = 1f / sum;
        for (int d = 0; d < hd; d++) {
            b.out()[qOff + d] = o[d] * inv;
        }
    }
}
