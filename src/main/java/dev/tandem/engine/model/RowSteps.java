package dev.tandem.engine.model;

import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.kvcache.KvPool;

/**
 * The per-row work of a forward pass between its kernels (residual adds, RMSNorm, q/k/v bias, RoPE, the K/V
 * write), fused per row and run over row ranges by the backend's threads through {@link ComputeBackend#forRows}.
 * Run on the caller alone it was ~7% of a batch-32 decode step and of a 512-token prefill, with the other core
 * waiting. Each row's arithmetic is exactly what the serial loops did (same operations, same order within the row),
 * so no bit depends on which thread runs a row or how the rows are split.
 *
 * <p>One instance per transformer, reused: the caller sets the fields for the next call, then calls
 * {@code forRows}; the pool publishes them to its threads with the call.
 */
final class RowSteps implements ComputeBackend.RowBody {
    /** What {@link #run} does to each row. */
    enum Step {
        /** {@code xb = rmsnorm(x) · norm}. */
        NORM,
        /** {@code x += proj}, then {@code xb = rmsnorm(x) · norm}. */
        RESIDUAL_NORM,
        /** {@code x += proj} (after the last layer). */
        RESIDUAL,
        /** Bias on q, k, v (Qwen2), RoPE on q and k, then k and v into the layer's K/V slots. */
        ROPE_WRITE
    }

    private final ModelConfig cfg;
    private final Rope rope;

    // Per forward pass.
    private Workspace ws;
    private KvPool pool;

    // Per call.
    private Step step;
    private float[] norm;
    private int layer;
    private float[] bq;
    private float[] bk;
    private float[] bv;

    RowSteps(ModelConfig cfg, Rope rope) {
        this.cfg = cfg;
        this.rope = rope;
    }

    /** Binds the workspace and K/V pool of the forward pass about to run ({@code null}s after it, so none is kept). */
    void bind(Workspace ws, KvPool pool) {
        this.ws = ws;
        this.pool = pool;
    }

    /** Sets up a {@link Step#NORM} or {@link Step#RESIDUAL_NORM} ({@code norm}: that norm's weight) or a residual. */
    RowSteps norm(Step step, float[] norm) {
        this.step = step;
        this.norm = norm;
        return this;
    }

    /** Sets up {@link Step#ROPE_WRITE} for {@code layer}; the biases are null for models without them. */
    RowSteps ropeWrite(int layer, float[] bq, float[] bk, float[] bv) {
        this.step = Step.ROPE_WRITE;
        this.layer = layer;
        this.bq = bq;
        this.bk = bk;
        this.bv = bv;
        return this;
    }

    @Override
    public void run(int from, int to) {
        int dim = cfg.hiddenSize();
        for (int r = from; r < to; r++) {
            switch (step) {
                case NORM -> rmsnorm(ws.x, norm, ws.xb, r * dim, dim, cfg.rmsNormEps());
                case RESIDUAL_NORM -> {
                    add(ws.x, ws.proj, r * dim, dim);
                    rmsnorm(ws.x, norm, ws.xb, r * dim, dim, cfg.rmsNormEps());
                }
                case RESIDUAL -> add(ws.x, ws.proj, r * dim, dim);
                case ROPE_WRITE -> ropeWrite(r);
            }
        }
    }

    private void ropeWrite(int r) {
        int qDim = cfg.qDim();
        int kvDim = cfg.kvDim();
        int half = cfg.headDim() / 2;
        if (bq != null) {
            addBias(ws.q, bq, r * qDim, qDim);
            addBias(ws.k, bk, r * kvDim, kvDim);
            addBias(ws.v, bv, r * kvDim, kvDim);
        }
        rope.rotate(ws.q, r * qDim, cfg.numHeads(), ws.cos, ws.sin, r * half);
        rope.rotate(ws.k, r * kvDim, cfg.numKvHeads(), ws.cos, ws.sin, r * half);
        pool.write(layer, ws.slots[r], ws.k, r * kvDim, ws.v, r * kvDim);
    }

    /** {@code y[off .. off + n) += a[off .. off + n)}: a residual row. */
    private static void add(float[] y, float[] a, int off, int n) {
        for (int i = 0; i < n; i++) {
            y[off + i] += a[off + i];
        }
    }

    /** {@code y[off .. off + n) += bias[0 .. n)}. */
    private static void addBias(float[] y, float[] bias, int off, int n) {
        for (int i = 0; i < n; i++) {
            y[off + i] += bias[i];
        }
    }

    /** One row: {@code out[off ..] = weight · in[off ..] / sqrt(mean(in²) + eps)}, the sum of squares in double. */
    static void rmsnorm(float[] in, float[] weight, float[] out, int off, int dim, double eps) {
        double ss = 0;
        for (int i = 0; i < dim; i++) {
            ss += (double) in[off + i] * in[off + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / dim + eps));
        for (int i = 0; i < dim; i++) {
            out[off + i] = weight[i] * (in[off + i] * inv);
        }
    }
}
