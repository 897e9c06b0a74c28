package dev.tandem.engine.compute;

import dev.tandem.engine.tensor.DType;
import dev.tandem.engine.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * SIMD kernels through the Vector API, spread over every core. Weights are read in their stored dtype: BF16 rows are
 * widened in registers (an int lane holds two bf16 values; shifting and masking yields the even and the odd
 * elements, which meet activations laid out evens-then-odds per block), F32 rows are loaded directly, F16 rows are
 * widened into a per-thread scratch row first.
 */
public final class VectorBackend implements ComputeBackend {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED;
    private static final int L = FS.length();
    private static final int BLOCK = 2 * L; // bf16 elements per int-vector load
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int ROW_BLOCK = 16; // output rows per parallel work unit

    private final ParallelFor parallel;
    private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[0]);

    public VectorBackend(int threads) {
        this.parallel = new ParallelFor(threads);
    }

    @Override
    public String name() {
        return "vector";
    }

    public int threads() {
        return parallel.threads();
    }

    /** Lanes per float vector on this machine (16 with AVX-512, 8 with AVX2). */
    public static int lanes() {
        return L;
    }

    @Override
    public void matmul(Tensor w, float[] x, int rows, float[] out) {
        matmulAll(new Tensor[] {w}, x, rows, new float[][] {out});
    }

    @Override
    public void matmulAll(Tensor[] ws, float[] x, int rows, float[][] outs) {
        int in = ws[0].cols();
        boolean anyBf16 = false;
        // Work unit: a block of ROW_BLOCK output rows of one weight, small enough to stay in cache while every
        // activation tile passes over it.
        int[] blockStart = new int[ws.length + 1];
        for (int i = 0; i < ws.length; i++) {
            if (ws[i].cols() != in) {
                throw new IllegalArgumentException("matmulAll needs one input width; " + ws[i] + " vs " + in);
            }
            anyBf16 |= ws[i].dtype() == DType.BF16;
            blockStart[i + 1] = blockStart[i] + (ws[i].rows() + ROW_BLOCK - 1) / ROW_BLOCK;
        }
        float[] xEvenOdd = anyBf16 && in % BLOCK == 0 ? evensThenOdds(x, rows, in) : null;
        parallel.run(blockStart[ws.length], 1, (from, to) -> {
            int wi = 0;
            for (int b = from; b < to; b++) {
                while (b >= blockStart[wi + 1]) {
                    wi++;
                }
                Tensor w = ws[wi];
                int o0 = (b - blockStart[wi]) * ROW_BLOCK;
                int o1 = Math.min(o0 + ROW_BLOCK, w.rows());
                if (w.dtype() == DType.BF16 && xEvenOdd != null) {
                    Bf16Kernels.block(w.data(), in, xEvenOdd, rows, o0, o1, outs[wi], w.rows());
                } else {
                    for (int o = o0; o < o1; o++) {
                        floatRow(w, o, x, rows, in, outs[wi], w.rows());
                    }
                }
            }
        });
    }

    /** Per row of x and per block of {@code BLOCK} columns: the even-index elements, then the odd-index ones. */
    private static float[] evensThenOdds(float[] x, int rows, int in) {
        float[] p = new float[rows * in];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < in; b += BLOCK) {
                int base = r * in + b;
                for (int i = 0; i < L; i++) {
                    p[base + i] = x[base + 2 * i];
                    p[base + L + i] = x[base + 2 * i + 1];
                }
            }
        }
        return p;
    }

    /** Any dtype: F32 rows are read in place, others widened into a scratch row once for all activation rows. */
    private void floatRow(Tensor w, int o, float[] x, int rows, int in, float[] out, int outF) {
        MemorySegment seg;
        long off;
        float[] row = null;
        if (w.dtype() == DType.F32) {
            seg = w.data();
            off = (long) o * in * Float.BYTES;
        } else {
            row = scratch.get();
            if (row.length < in) {
                row = new float[in];
                scratch.set(row);
            }
            w.toFloats((long) o * in, row, 0, in);
            seg = null;
            off = 0;
        }
        int bound = FS.loopBound(in);
        for (int r = 0; r < rows; r++) {
            int x0 = r * in;
            FloatVector acc = FloatVector.zero(FS);
            int k = 0;
            for (; k < bound; k += L) {
                FloatVector wv = seg != null ? FloatVector.fromMemorySegment(FS, seg, off + 4L * k, LE)
                        : FloatVector.fromArray(FS, row, k);
                acc = FloatVector.fromArray(FS, x, x0 + k).fma(wv, acc);
            }
            float sum = Lanes.sum(acc);
            for (; k < in; k++) {
                sum += x[x0 + k] * (seg != null ? w.get((long) o * in + k) : row[k]);
            }
            out[r * outF + o] = sum;
        }
    }

    @Override
    public void swiglu(float[] gate, float[] up, int n) {
        parallel.run(n, 4096, (from, to) -> ComputeBackend.swigluRange(gate, up, from, to));
    }

    @Override
    public void attention(AttentionBatch b) {
        int hd = b.headDim();
        parallel.run(b.numTokens() * b.numKvHeads(), 1, (from, to) -> {
            float[] scores = new float[0];
            float[] acc = new float[hd];
            for (int i = from; i < to; i++) {
                int t = i / b.numKvHeads();
                int kvHead = i % b.numKvHeads();
                int len = b.positions()[t] + 1;
                if (scores.length < len) {
                    scores = new float[Math.max(len, scores.length * 2)];
                }
                for (int g = 0; g < b.groupSize(); g++) {
                    attendOneHead(b, t, kvHead * b.groupSize() + g, kvHead, len, scores, acc);
                }
            }
        });
    }

    private static void attendOneHead(AttentionBatch b, int t, int h, int kvHead, int len, float[] scores,
                                      float[] acc) {
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
                        .fma(FloatVector.fromMemorySegment(FS, b.keys(), base + 4L * d, LE), dot);
            }
            float s = Lanes.sum(dot);
            for (; d < hd; d++) {
                s += b.q()[qOff + d] * b.keys().get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, base + 4L * d);
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
                FloatVector.fromMemorySegment(FS, b.values(), base + 4L * d, LE)
                        .fma(p, FloatVector.fromArray(FS, acc, d)).intoArray(acc, d);
            }
            for (; d < hd; d++) {
                acc[d] += scores[j] * b.values().get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, base + 4L * d);
            }
        }
        float inv = 1f / sum;
        for (int d = 0; d < hd; d++) {
            b.out()[qOff + d] = acc[d] * inv;
        }
    }

    @Override
    public void close() {
        parallel.close();
    }
}
