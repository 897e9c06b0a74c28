package dev.tandem.engine.compute;

import dev.tandem.engine.tensor.DType;
import dev.tandem.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The panel kernels against a float64 reference, on shapes the model tests never hit: a partial last panel (rows
 * not a multiple of the lane count), an odd number of panels, token counts that leave every kind of remainder.
 * Each token's outputs must be the same bits whatever else is in the batch.
 */
class Bf16PanelsTest {

    @Test
    void panelsMatchTheReferenceAndDoNotDependOnTheBatch() {
        // Four panels, the last one partial (two-panel tiles only), and three (a lone last panel: one-panel kernels).
        panelsMatchAndDoNotDependOnTheBatch(3 * VectorBackend.lanes() + 5);
        panelsMatchAndDoNotDependOnTheBatch(2 * VectorBackend.lanes() + 5);
    }

    private static void panelsMatchAndDoNotDependOnTheBatch(int rows) {
        int in = 46;
        try (Arena arena = Arena.ofConfined(); VectorBackend backend = new VectorBackend(2)) {
            SplittableRandom r = new SplittableRandom(3);
            MemorySegment seg = arena.allocate(2L * rows * in);
            for (long i = 0; i < (long) rows * in; i++) {
                seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (Float.floatToRawIntBits(
                        (float) r.nextGaussian()) >>> 16));
            }
            Tensor w = new Tensor("w", DType.BF16, new long[] {rows, in}, seg);
            backend.prepare(w);
            assertTrue(backend.packed(w), "the panel kernels compute this matmul");
            int maxTokens = 11;
            float[] x = new float[maxTokens * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            float[] all = new float[maxTokens * rows];
            backend.matmul(w, x, maxTokens, all);
            for (int t = 0; t < maxTokens; t++) {
                for (int o = 0; o < rows; o++) {
                    double ref = 0;
                    for (int k = 0; k < in; k++) {
                        ref += (double) x[t * in + k] * w.get((long) o * in + k);
                    }
                    assertEquals(ref, all[t * rows + o], 1e-4 * Math.max(1, Math.abs(ref)), "token " + t + ", row " + o);
                }
            }
            for (int tokens : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9}) {
                float[] some = new float[tokens * rows];
                backend.matmul(w, x, tokens, some);
                for (int t = 0; t < tokens; t++) {
                    float[] alone = new float[rows];
                    float[] got = new float[rows];
                    System.arraycopy(all, t * rows, alone, 0, rows);
                    System.arraycopy(some, t * rows, got, 0, rows);
                    assertArrayEquals(alone, got, "token " + t + " in a batch of " + tokens);
                }
            }
        }
    }
}
