package dev.tandem.engine.compute;

import dev.tandem.engine.tensor.Tensor;

/**
 * The heavy kernels of the forward pass, one implementation per way of computing them (scalar reference, Vector
 * API, later CUDA). Chosen once at start-up by {@link ComputeBackends}; the model code calls only this interface.
 * Backends may keep threads; {@link #close()} stops them.
 */
public interface ComputeBackend extends AutoCloseable {

    /** Short name for logs and metrics ("scalar", "vector"). */
    String name();

    /**
     * A linear layer without bias: {@code out[r, o] = Σ_k x[r, k] · w[o, k]} for {@code r < rows}.
     *
     * @param w    weight in its stored dtype, {@code [outFeatures, inFeatures]}
     * @param x    activations {@code [rows, inFeatures]}
     * @param out  result {@code [rows, outFeatures]}
     */
    void matmul(Tensor w, float[] x, int rows, float[] out);

    /**
     * Called once per linear weight at load, before any {@link #matmul} with it: a backend may keep a copy in the
     * layout its kernels stream best (owned by the backend, freed by {@link #close()}). Default: nothing.
     */
    default void prepare(Tensor w) {
    }

    /** Bytes a matmul with {@code w} streams from memory (its prepared form's size). Default: as stored. */
    default long streamedBytes(Tensor w) {
        return w.data().byteSize();
    }

    /** Several linear layers over the same input ({@code q/k/v}, {@code gate/up}); {@code outs[i]} is for {@code ws[i]}. */
    default void matmulAll(Tensor[] ws, float[] x, int rows, float[][] outs) {
        for (int i = 0; i < ws.length; i++) {
            matmul(ws[i], x, rows, outs[i]);
        }
    }

    /**
     * SwiGLU in place: {@code gate[i] = silu(gate[i]) * up[i]} for {@code i < n}. Every backend must produce the
     * bits of {@link #swigluRange}, so results never depend on the backend's threading.
     */
    default void swiglu(float[] gate, float[] up, int n) {
        swigluRange(gate, up, 0, n);
    }

    /**
     * The reference SwiGLU over {@code [from, to)}, with the float exp the vector kernels use lane by lane
     * ({@code VectorExp}, within 2 ulp of {@link Math#exp}), so a vectorized SwiGLU can give these bits.
     */
    static void swigluRange(float[] gate, float[] up, int from, int to) {
        for (int i = from; i < to; i++) {
            float g = gate[i];
            gate[i] = g / (1f + VectorExp.exp(-g)) * up[i];
        }
    }

    /** Body of {@link #forRows}: the rows {@code [from, to)} of a batch. */
    @FunctionalInterface
    interface RowBody {
        void run(int from, int to);
    }

    /**
     * Runs {@code body} over the rows {@code [0, rows)} of a batch, in pieces a backend with threads may run at once:
     * the per-row work between the kernels (norms, RoPE, K/V writes), which must not depend on which thread runs a
     * row. Default: every row on the caller, in order.
     */
    default void forRows(int rows, RowBody body) {
        body.run(0, rows);
    }

    /** Causal GQA attention of every token in {@code batch} over its request's cached K/V; writes {@code batch.out()}. */
    void attention(AttentionBatch batch);

    @Override
    void close();
}
