package dev.tandem.engine.compute;

import dev.tandem.engine.tensor.Tensor;
import dev.tandem.config.KvDtype;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The plain reference: one thread, one element at a time, double accumulators. Slow and obviously right; every other
 * backend is tested against it.
 */
public final class ScalarBackend implements ComputeBackend {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort BF16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void matmul(Tensor w, float[] x, int rows, float[] out) {
        int in = w.cols();
        int outF = w.rows();
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < outF; o++) {
                double acc = 0;
                long base = (long) o * in;
                for (int k = 0; k < in; k++) {
                    acc += (double) x[r * in + k] * w.get(base + k);
                }
                out[r * outF + o] = (float) acc;
            }
        }
    }

    @Override
    public void attention(AttentionBatch b) {
        int hd = b.headDim();
        int qDim = b.numHeads() * hd;
        int kvDim = b.numKvHeads() * hd;
        for (int t = 0; t < b.numTokens(); t++) {
            int len = b.positions()[t] + 1;
            double[] scores = new double[len];
            for (int h = 0; h < b.numHeads(); h++) {
                int kvHead = h / b.groupSize();
                int qOff = t * qDim + h * hd;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < len; j++) {
                    long kOff = ((long) b.table()[b.tableOffsets()[t] + j] * kvDim + (long) kvHead * hd);
                    double dot = 0;
                    for (int d = 0; d < hd; d++) {
                        dot += (double) b.q()[qOff + d] * get(b, b.keys(), kOff + d);
                    }
                    scores[j] = dot * b.scale();
                    max = Math.max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j < len; j++) {
                    scores[j] = Math.exp(scores[j] - max);
                    sum += scores[j];
                }
                for (int d = 0; d < hd; d++) {
                    double acc = 0;
                    for (int j = 0; j < len; j++) {
                        long vOff = ((long) b.table()[b.tableOffsets()[t] + j] * kvDim + (long) kvHead * hd);
                        acc += scores[j] * get(b, b.values(), vOff + d);
                    }
                    b.out()[qOff + d] = (float) (acc / sum);
                }
            }
        }
    }

    /** Element {@code index} of a K/V region, widened exactly from the pool's dtype. */
    private static float get(AttentionBatch b, MemorySegment s, long index) {
        return b.kvDtype() == KvDtype.BFLOAT16 ? KvDtype.fromBf16(s.getAtIndex(BF16, index)) : s.getAtIndex(F32, index);
    }

    @Override
    public void close() {
    }
}
