package dev.tandem.engine.compute;

import dev.tandem.config.KvDtype;
import dev.tandem.kvcache.KvPool;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attention over a bf16 KV pool ({@code --kv-cache-dtype bf16}) against a float64 reference computed here from the
 * same K/V rounded to bf16, on a GQA shape with a head size that leaves a scalar tail, ragged context lengths and
 * scattered slots. The vector kernel must also give exactly the bits it gives on a float32 pool that holds the
 * rounded values: only the loads differ.
 */
class Bf16KvAttentionTest {
    private static final int HEADS = 4;
    private static final int KV_HEADS = 2;

    @Test
    void bf16PoolMatchesAFloat64ReferenceOfRoundedKv() {
        for (int hd : new int[] {2 * VectorBackend.lanes() + 3, 64}) {
            check(hd);
        }
    }

    private static void check(int hd) {
        int kvDim = KV_HEADS * hd;
        int slots = 64;
        SplittableRandom r = new SplittableRandom(hd);
        float[][] kRows = new float[slots][kvDim];
        float[][] vRows = new float[slots][kvDim];
        float[][] kRounded = new float[slots][kvDim];
        float[][] vRounded = new float[slots][kvDim];
        try (KvPool bf16 = new KvPool(1, slots, 1, KV_HEADS, hd, null, KvDtype.BFLOAT16);
             KvPool f32 = new KvPool(1, slots, 1, KV_HEADS, hd);
             VectorBackend vector = new VectorBackend(2);
             ScalarBackend scalar = new ScalarBackend()) {
            assertEquals(2L * kvDim, bf16.slotBytes(), "a bf16 slot is two bytes an element");
            assertEquals(2 * bf16.totalBytes(), f32.totalBytes(), "bf16 halves the pool");
            boolean rounded = false;
            for (int s = 0; s < slots; s++) {
                for (int d = 0; d < kvDim; d++) {
                    kRows[s][d] = (float) r.nextGaussian() * 2;
                    vRows[s][d] = (float) r.nextGaussian();
                    kRounded[s][d] = KvDtype.fromBf16(KvDtype.toBf16(kRows[s][d]));
                    vRounded[s][d] = KvDtype.fromBf16(KvDtype.toBf16(vRows[s][d]));
                    rounded |= kRounded[s][d] != kRows[s][d];
                }
                bf16.write(0, s, kRows[s], 0, vRows[s], 0);
                f32.write(0, s, kRounded[s], 0, vRounded[s], 0);
                for (int d = 0; d < kvDim; d++) {
                    assertEquals(kRounded[s][d], bf16.get(bf16.keys(0), (long) s * kvDim + d), "stored K, exact");
                }
            }
            assertTrue(rounded, "the random K/V needed rounding: the test would not see a missing conversion");
            // Three tokens of two requests: context lengths 1, 29 and 100 (past a tile), slots scattered.
            int[] positions = {0, 28, 99};
            int[] tableOffsets = {0, 128, 128};
            int[] table = new int[256];
            for (int i = 0; i < table.length; i++) {
                table[i] = (i * 37 + 11) % slots;
            }
            int tokens = positions.length;
            float[] q = new float[tokens * HEADS * hd];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) r.nextGaussian();
            }
            float scale = (float) (1 / Math.sqrt(hd));
            float[] outBf16 = new float[q.length];
            float[] outF32 = new float[q.length];
            float[] outScalar = new float[q.length];
            vector.attention(new AttentionBatch(q, outBf16, tokens, positions, tableOffsets, table, bf16.keys(0),
                    bf16.values(0), HEADS, KV_HEADS, hd, scale).kvDtype(KvDtype.BFLOAT16));
            vector.attention(new AttentionBatch(q, outF32, tokens, positions, tableOffsets, table, f32.keys(0),
                    f32.values(0), HEADS, KV_HEADS, hd, scale));
            scalar.attention(new AttentionBatch(q, outScalar, tokens, positions, tableOffsets, table, bf16.keys(0),
                    bf16.values(0), HEADS, KV_HEADS, hd, scale).kvDtype(KvDtype.BFLOAT16));
            assertArrayEquals(outF32, outBf16, "bf16 loads give the bits of float32 loads of the rounded values");
            double[] ref = reference(q, positions, tableOffsets, table, kRounded, vRounded, hd, scale);
            for (int i = 0; i < q.length; i++) {
                double tol = 1 + Math.abs(ref[i]);
                assertEquals(ref[i], outBf16[i], 2e-5 * tol, "vector, head dim " + hd + " [" + i + "]");
                assertEquals(ref[i], outScalar[i], 1e-6 * tol, "scalar, head dim " + hd + " [" + i + "]");
            }
        }
    }

    private static double[] reference(float[] q, int[] positions, int[] tableOffsets, int[] table, float[][] k,
                                      float[][] v, int hd, float scale) {
        double[] out = new double[q.length];
        for (int t = 0; t < positions.length; t++) {
            int len = positions[t] + 1;
            for (int h = 0; h < HEADS; h++) {
                int kvOff = (h / (HEADS / KV_HEADS)) * hd;
                int qOff = (t * HEADS + h) * hd;
                double[] s = new double[len];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < len; j++) {
                    int slot = table[tableOffsets[t] + j];
                    for (int d = 0; d < hd; d++) {
                        s[j] += (double) q[qOff + d] * k[slot][kvOff + d];
                    }
                    s[j] *= scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < len; j++) {
                    s[j] = Math.exp(s[j] - max);
                    sum += s[j];
                }
                for (int d = 0; d < hd; d++) {
                    double acc = 0;
                    for (int j = 0; j < len; j++) {
                        acc += s[j] * v[table[tableOffsets[t] + j]][kvOff + d];
                    }
                    out[qOff + d] = acc / sum;
                }
            }
        }
        return out;
    }
}
