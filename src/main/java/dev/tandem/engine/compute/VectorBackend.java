package dev.tandem.engine.compute;

import dev.tandem.config.Quantization;
import dev.tandem.engine.tensor.DType;
import dev.tandem.engine.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;

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

    private static final int MAX_FUSED = 8; // weights one matmulAll call may cover
    private static final int PANELS_PER_UNIT = 2; // BF16 panels per parallel work unit (one k2x4 tile wide)
    /**
     * Fewest rows of per-row work worth a piece of their own: a row's norm and RoPE take ~1 µs on the bench preset
     * and a fork/join 1-2.5 µs, so up to this many rows (a decode step of a few requests) run on the caller alone.
     */
    private static final int ROWS_PER_PIECE = 4;

    private final ParallelFor parallel;
    // Per-worker scratch (index 0 is the calling thread), sized once or grown rarely, never per call.
    private final float[][] rowScratch;    // (worker) -> one widened F16 weight row, allocated by that worker itself
    private final float[][] tailScratch;   // (worker) -> 8 L floats, a tile's outputs when its last panel is partial
    private final Arena packArena = Arena.ofShared(); // BF16 panels made by prepare(), freed by close()
    private final Map<Tensor, PanelWeight> panels = Collections.synchronizedMap(new IdentityHashMap<>());
    private final Quantization quantization;
    private float[] evenOdd = new float[0]; // activations rearranged for the BF16 kernels (caller-owned)
    private final MatmulJob matmulJob = new MatmulJob();
    private final AttentionJob attentionJob;
    private final SwigluJob swigluJob = new SwigluJob();
    private final RowJob rowJob = new RowJob();

    public VectorBackend(int threads) {
        this(threads, Quantization.NONE);
    }

    public VectorBackend(int threads, Quantization quantization) {
        this.quantization = quantization;
        this.parallel = new ParallelFor(threads);
        this.rowScratch = new float[threads][0];
        this.attentionJob = new AttentionJob(parallel);
        this.tailScratch = WorkerScratch.perWorker(threads, PanelWeight.TAIL_PANELS * L);
    }

    @Override
    public String name() {
        return "vector";
    }

    public int threads() {
        return parallel.threads();
    }

    /** The pool's helper threads (the caller is the other worker), for accounting what compute threads allocate. */
    public java.util.List<Thread> helperThreads() {
        return java.util.List.of(parallel.helperThreads());
    }

    /** Lanes per float vector on this machine (16 with AVX-512, 8 with AVX2). */
    public static int lanes() {
        return L;
    }

    /** Runs {@code body} over {@code [0, n)} on this backend's compute threads (for probes measured on them). */
    void parallelRun(int n, int grain, ParallelFor.RangeBody body) {
        parallel.run(n, grain, body);
    }

    public Quantization quantization() {
        return quantization;
    }

    /**
     * With int8 quantization every matrix becomes {@link Int8Panels}; otherwise BF16 matrices are repacked into
     * {@link Bf16Panels} and other dtypes are read as stored.
     */
    @Override
    public void prepare(Tensor w) {
        if (panels.containsKey(w)) {
            return;
        }
        if (quantization == Quantization.INT8 && Int8Panels.quantizable(w)) {
            panels.put(w, Int8Panels.quantize(w, packArena, parallel));
        } else if (Bf16Panels.packable(w)) {
            panels.put(w, Bf16Panels.pack(w, packArena, parallel));
        }
    }

    @Override
    public long streamedBytes(Tensor w) {
        PanelWeight p = panels.get(w);
        return p != null ? p.bytes() : w.data().byteSize();
    }

    /** Whether {@link #prepare} repacked {@code w} (tests check the panel kernels are the ones running). */
    boolean packed(Tensor w) {
        return panels.containsKey(w);
    }

    @Override
    public void matmul(Tensor w, float[] x, int rows, float[] out) {
        MatmulJob j = matmulJob;
        j.ws[0] = w;
        j.outs[0] = out;
        j.count = 1;
        runMatmul(j, x, rows);
    }

    @Override
    public void matmulAll(Tensor[] ws, float[] x, int rows, float[][] outs) {
        if (ws.length > MAX_FUSED) {
            throw new IllegalArgumentException("matmulAll covers at most " + MAX_FUSED + " weights, got " + ws.length);
        }
        MatmulJob j = matmulJob;
        for (int i = 0; i < ws.length; i++) {
            j.ws[i] = ws[i];
            j.outs[i] = outs[i];
        }
        j.count = ws.length;
        runMatmul(j, x, rows);
    }

    private void runMatmul(MatmulJob j, float[] x, int rows) {
        int in = j.ws[0].cols();
        boolean anyBf16 = false;
        // Work unit: a block of ROW_BLOCK output rows of one weight, small enough to stay in cache while every
        // activation tile passes over it.
        for (int i = 0; i < j.count; i++) {
            if (j.ws[i].cols() != in) {
                throw new IllegalArgumentException("matmulAll needs one input width; " + j.ws[i] + " vs " + in);
            }
            PanelWeight p = panels.get(j.ws[i]);
            j.panels[i] = p;
            anyBf16 |= p == null && j.ws[i].dtype() == DType.BF16;
            j.blockStart[i + 1] = j.blockStart[i] + (p != null ? (p.panelCount() + PANELS_PER_UNIT - 1) / PANELS_PER_UNIT
                    : (j.ws[i].rows() + ROW_BLOCK - 1) / ROW_BLOCK);
        }
        j.x = x;
        j.rows = rows;
        j.in = in;
        j.xp = anyBf16 && in % BLOCK == 0 ? evensThenOdds(x, rows, in) : null;
        try {
            parallel.run(j.blockStart[j.count], 1, j);
        } finally {
            java.util.Arrays.fill(j.ws, null);
            java.util.Arrays.fill(j.panels, null);
            java.util.Arrays.fill(j.outs, null);
            j.x = null;
        }
    }

    /** One matmul call's arguments; reused, so a call allocates nothing. */
    private final class MatmulJob implements ParallelFor.RangeBody {
        final Tensor[] ws = new Tensor[MAX_FUSED];
        final float[][] outs = new float[MAX_FUSED][];
        final PanelWeight[] panels = new PanelWeight[MAX_FUSED];
        final int[] blockStart = new int[MAX_FUSED + 1];
        int count;
        float[] x;
        float[] xp;
        int rows;
        int in;

        @Override
        public void run(int from, int to, int worker) {
            int wi = 0;
            for (int b = from; b < to; b++) {
                while (b >= blockStart[wi + 1]) {
                    wi++;
                }
                Tensor w = ws[wi];
                PanelWeight packed = panels[wi];
                if (packed != null) {
                    int p0 = (b - blockStart[wi]) * PANELS_PER_UNIT;
                    packed.block(x, rows, p0, Math.min(p0 + PANELS_PER_UNIT, packed.panelCount()), outs[wi], w.rows(),
                            tailScratch[worker]);
                    continue;
                }
                int o0 = (b - blockStart[wi]) * ROW_BLOCK;
                int o1 = Math.min(o0 + ROW_BLOCK, w.rows());
                if (w.dtype() == DType.BF16 && xp != null) {
                    Bf16Kernels.block(w.data(), in, xp, rows, o0, o1, outs[wi], w.rows());
                } else {
                    for (int o = o0; o < o1; o++) {
                        floatRow(w, o, x, rows, in, outs[wi], w.rows(), worker);
                    }
                }
            }
        }
    }

    /** Per row of x and per block of {@code BLOCK} columns: the even-index elements, then the odd-index ones. */
    private float[] evensThenOdds(float[] x, int rows, int in) {
        if (evenOdd.length < rows * in) {
            evenOdd = new float[rows * in];
        }
        float[] p = evenOdd;
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
    private void floatRow(Tensor w, int o, float[] x, int rows, int in, float[] out, int outF, int worker) {
        MemorySegment seg;
        long off;
        float[] row = null;
        if (w.dtype() == DType.F32) {
            seg = w.data();
            off = (long) o * in * Float.BYTES;
        } else {
            row = rowScratch[worker];
            if (row.length < in) {
                row = new float[in]; // once per worker and width
                rowScratch[worker] = row;
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
        swigluJob.gate = gate;
        swigluJob.up = up;
        try {
            parallel.run(n, 4096, swigluJob);
        } finally {
            swigluJob.gate = null;
            swigluJob.up = null;
        }
    }

    private static final class SwigluJob implements ParallelFor.RangeBody {
        float[] gate;
        float[] up;

        @Override
        public void run(int from, int to, int worker) {
            VectorExp.swiglu(gate, up, from, to); // the bits of ComputeBackend.swigluRange, in lanes
        }
    }

    @Override
    public void attention(AttentionBatch b) {
        attentionJob.attend(b);
    }

    @Override
    public void forRows(int rows, RowBody body) {
        rowJob.body = body;
        try {
            parallel.run(rows, ROWS_PER_PIECE, rowJob);
        } finally {
            rowJob.body = null;
        }
    }

    /** Adapts a {@link RowBody} to the pool; reused, so a call allocates nothing. */
    private static final class RowJob implements ParallelFor.RangeBody {
        RowBody body;

        @Override
        public void run(int from, int to, int worker) {
            body.run(from, to);
        }
    }

    @Override
    public void close() {
        parallel.close();
        panels.clear();
        packArena.close();
    }
}
