package dev.tandem.engine.model;

import dev.tandem.engine.compute.AttentionBatch;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.tensor.Tensor;
import dev.tandem.engine.weights.WeightStore;
import dev.tandem.config.KvDtype;
import dev.tandem.kvcache.KvPool;
import dev.tandem.kvcache.PagedKvCache;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The decoder of Llama, Mistral and Qwen2 (pre-norm, RMSNorm, RoPE, GQA, SwiGLU, optional q/k/v bias, optional tied
 * embeddings) over a ragged batch whose K/V live in a paged pool. Weights stay in their stored dtype; activations are
 * F32 on the heap. Stateless between calls: everything a request remembers is in the KV cache.
 */
public final class Transformer {
    private final ModelConfig cfg;
    private final ComputeBackend backend;
    private final Rope rope;
    private final Tensor embed;     // (vocab, dim)
    private final Tensor lmHead;    // (vocab, dim), the embedding when tied
    private final float[] finalNorm; // (dim)
    private final Layer[] layers;
    private final Workspace workspace;
    private final RowSteps rowSteps;
    private final AtomicBoolean inForward = new AtomicBoolean();
    private final PhaseClock clock = new PhaseClock();

    /** One block's weights; linear layers are (out, in) as Hugging Face stores them. */
    private record Layer(float[] attnNorm, // (dim)
                         Tensor wq,        // (heads * headDim, dim)
                         Tensor wk,        // (kvHeads * headDim, dim)
                         Tensor wv,        // (kvHeads * headDim, dim)
                         float[] bq,       // (heads * headDim) or null
                         float[] bk,       // (kvHeads * headDim) or null
                         float[] bv,       // (kvHeads * headDim) or null
                         Tensor wo,        // (dim, heads * headDim)
                         float[] ffnNorm,  // (dim)
                         Tensor wGate,     // (hidden, dim)
                         Tensor wUp,       // (hidden, dim)
                         Tensor wDown,     // (dim, hidden)
                         Tensor[] qkv,     // {wq, wk, wv}, fused in one parallel call
                         Tensor[] gateUp) { // {wGate, wUp}
        Layer(float[] attnNorm, Tensor wq, Tensor wk, Tensor wv, float[] bq, float[] bk, float[] bv, Tensor wo,
              float[] ffnNorm, Tensor wGate, Tensor wUp, Tensor wDown) {
            this(attnNorm, wq, wk, wv, bq, bk, bv, wo, ffnNorm, wGate, wUp, wDown, new Tensor[] {wq, wk, wv},
                    new Tensor[] {wGate, wUp});
        }
    }

    public Transformer(ModelConfig cfg, WeightStore w, ComputeBackend backend) {
        this.cfg = cfg;
        this.backend = backend;
        this.rope = new Rope(cfg.headDim(), cfg.ropeTheta(), cfg.ropeScaling());
        int dim = cfg.hiddenSize();
        this.embed = w.require("model.embed_tokens.weight", cfg.vocabSize(), dim);
        if (w.contains("lm_head.weight") || !cfg.tieWordEmbeddings()) {
            this.lmHead = w.require("lm_head.weight", cfg.vocabSize(), dim);
        } else {
            this.lmHead = embed;
        }
        this.finalNorm = w.require("model.norm.weight", dim).toFloatArray();
        this.workspace = new Workspace(cfg);
        this.rowSteps = new RowSteps(cfg, rope);
        this.layers = new Layer[cfg.numLayers()];
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            String a = p + "self_attn.";
            boolean bias = cfg.qkvBias();
            layers[l] = new Layer(
                    w.require(p + "input_layernorm.weight", dim).toFloatArray(),
                    w.require(a + "q_proj.weight", cfg.qDim(), dim),
                    w.require(a + "k_proj.weight", cfg.kvDim(), dim),
                    w.require(a + "v_proj.weight", cfg.kvDim(), dim),
                    bias ? w.require(a + "q_proj.bias", cfg.qDim()).toFloatArray() : null,
                    bias ? w.require(a + "k_proj.bias", cfg.kvDim()).toFloatArray() : null,
                    bias ? w.require(a + "v_proj.bias", cfg.kvDim()).toFloatArray() : null,
                    w.require(a + "o_proj.weight", dim, cfg.qDim()),
                    w.require(p + "post_attention_layernorm.weight", dim).toFloatArray(),
                    w.require(p + "mlp.gate_proj.weight", cfg.intermediateSize(), dim),
                    w.require(p + "mlp.up_proj.weight", cfg.intermediateSize(), dim),
                    w.require(p + "mlp.down_proj.weight", dim, cfg.intermediateSize()));
        }
        prepareWeights();
    }

    /** Lets the backend repack every linear weight once, now, instead of on the hot path. */
    private void prepareWeights() {
        backend.prepare(lmHead);
        for (Layer l : layers) {
            for (Tensor t : new Tensor[] {l.wq, l.wk, l.wv, l.wo, l.wGate, l.wUp, l.wDown}) {
                backend.prepare(t);
            }
        }
    }

    public ModelConfig config() {
        return cfg;
    }

    public ComputeBackend backend() {
        return backend;
    }

    /** Per-phase timing of the forward passes, off until a caller turns it on (bench-engine --phases). */
    public PhaseClock phaseClock() {
        return clock;
    }

    /** Bytes of weights read by one decode step (every linear layer plus the LM head; embeddings are a lookup). */
    public long bytesReadPerStep() {
        long b = backend.streamedBytes(lmHead);
        for (Layer l : layers) {
            for (Tensor t : new Tensor[] {l.wq, l.wk, l.wv, l.wo, l.wGate, l.wUp, l.wDown}) {
                b += backend.streamedBytes(t);
            }
        }
        return b;
    }

    /** Multiply-adds of every linear layer for one token, the LM head excluded. */
    public long linearMacsPerToken() {
        long m = 0;
        for (Layer l : layers) {
            for (Tensor t : new Tensor[] {l.wq, l.wk, l.wv, l.wo, l.wGate, l.wUp, l.wDown}) {
                m += (long) t.rows() * t.cols();
            }
        }
        return m;
    }

    /** Multiply-adds of the LM head for one logits row. */
    public long lmHeadMacs() {
        return (long) lmHead.rows() * lmHead.cols();
    }

    /** Multiply-adds of attention (scores and weighted values) for one token at {@code position}. */
    public long attentionMacs(int position) {
        return 2L * layers.length * cfg.numHeads() * cfg.headDim() * (position + 1);
    }

    /** Bytes of K/V (F32) one token at {@code position} reads. */
    public long kvBytesRead(int position) {
        return kvBytesRead(position, KvDtype.FLOAT32);
    }

    /** Bytes of K/V stored as {@code dtype} one token at {@code position} reads. */
    public long kvBytesRead(int position, KvDtype dtype) {
        return 2L * layers.length * cfg.kvDim() * dtype.bytes() * (position + 1);
    }

    /**
     * Runs every chunk of {@code batch} through the model, writing their K/V into {@code kv} and returning the
     * logits each chunk asked for. The result lives in this transformer's workspace: it is valid until the next
     * call (copy rows out with {@link ForwardOutput#row}). One caller at a time, like the backend. A step allocates
     * nothing once the workspace has grown to the largest batch seen.
     */
    public ForwardOutput forward(List<SequenceChunk> batch, PagedKvCache kv) {
        // The workspace and the backend's pool serve one caller at a time: a second thread is a bug, made loud.
        if (!inForward.compareAndSet(false, true)) {
            throw new IllegalStateException("Transformer.forward called from two threads at once (one caller at a "
                    + "time: its workspace and the compute pool are shared)");
        }
        try {
            return forwardAlone(batch, kv);
        } finally {
            inForward.set(false);
        }
    }

    private ForwardOutput forwardAlone(List<SequenceChunk> batch, PagedKvCache kv) {
        int dim = cfg.hiddenSize();
        int half = cfg.headDim() / 2;
        KvPool pool = kv.pool();

        // Flatten the ragged batch: token t belongs to some chunk at absolute position positions[t].
        int total = 0;
        int logitRows = 0;
        for (int c = 0; c < batch.size(); c++) {
            total += batch.get(c).tokens().length;
            logitRows += batch.get(c).logitRows();
        }
        Workspace ws = workspace.ensure(total, batch.size(), logitRows);
        long t0 = clock.start();
        int[] positions = ws.positions;
        int[] tableOffsets = ws.tableOffsets;
        int[] slots = ws.slots;
        float[] x = ws.x;           // (T, dim) residual stream
        float[] cos = ws.cos;       // (T, headDim/2)
        float[] sin = ws.sin;
        int t = 0;
        for (int ci = 0; ci < batch.size(); ci++) {
            SequenceChunk c = batch.get(ci);
            if (c.endPos() > cfg.maxPositions()) {
                throw new IllegalArgumentException("position " + (c.endPos() - 1) + " exceeds max_position_embeddings "
                        + cfg.maxPositions());
            }
            if (kv.capacity(c.kvRow()) < c.endPos()) {
                throw new IllegalStateException("KV row " + c.kvRow() + " holds " + kv.capacity(c.kvRow())
                        + " positions, the chunk needs " + c.endPos());
            }
            for (int i = 0; i < c.tokens().length; i++, t++) {
                int token = c.tokens()[i];
                if (token < 0 || token >= cfg.vocabSize()) {
                    throw new IllegalArgumentException("token id " + token + " outside the vocabulary [0, "
                            + cfg.vocabSize() + ")");
                }
                positions[t] = c.startPos() + i;
                tableOffsets[t] = c.kvRow() * kv.maxContext();
                slots[t] = kv.slot(c.kvRow(), positions[t]);
                embed.toFloats((long) token * dim, x, t * dim, dim);
                rope.angles(positions[t], cos, sin, t * half);
            }
        }

        float scale = (float) (1.0 / Math.sqrt(cfg.headDim()));
        AttentionBatch attention = ws.attention.set(ws.q, ws.att, total, positions, tableOffsets, kv.table(),
                cfg.numHeads(), cfg.numKvHeads(), cfg.headDim(), scale).kvDtype(pool.dtype());

        // Between the kernels, the per-row steps run over the rows on every compute thread (RowSteps): a
        // residual add and the norm after it in one pass per row, likewise bias, RoPE and the K/V write.
        long lap = clock.lap(PhaseClock.Phase.EMBED, t0);
        rowSteps.bind(ws, pool);
        try {
            lap = layers(total, attention, pool, ws, lap);
        } finally {
            rowSteps.bind(null, null);
        }
        attention.layer(null, null);
        ForwardOutput out = logits(batch, x, dim, ws);
        clock.lap(PhaseClock.Phase.LM_HEAD, lap);
        return out;
    }

    /**
     * Every layer over the flattened batch; the residual stream {@code ws.x} ends past the last one. {@code lap}:
     * the {@link PhaseClock} stamp each call's time is counted from; returns the last one.
     */
    private long layers(int total, AttentionBatch attention, KvPool pool, Workspace ws, long lap) {
        float[] xb = ws.xb;         // (T, dim) normed input of a sub-block
        float[] att = ws.att;       // (T, heads * headDim) attention output
        float[] proj = ws.proj;     // (T, dim) output of o_proj / down_proj
        float[] gate = ws.gate;     // (T, hidden)
        float[] up = ws.up;         // (T, hidden)
        PhaseClock c = clock;
        backend.forRows(total, rowSteps.norm(RowSteps.Step.NORM, layers[0].attnNorm));
        lap = c.lap(PhaseClock.Phase.NORM_RESIDUAL, lap);
        for (int l = 0; l < layers.length; l++) {
            Layer w = layers[l];
            // qkv matmuls; then per row the Qwen2 bias, RoPE on q and k, and k, v into the cache
            backend.matmulAll(w.qkv, xb, total, ws.qkvOut);
            lap = c.lap(PhaseClock.Phase.QKV, lap);
            backend.forRows(total, rowSteps.ropeWrite(l, w.bq, w.bk, w.bv));
            lap = c.lap(PhaseClock.Phase.ROPE_KV_WRITE, lap);
            // attention over each request's cached positions 0..pos (causal)
            backend.attention(attention.layer(pool.keys(l), pool.values(l)));
            lap = c.lap(PhaseClock.Phase.ATTENTION, lap);
            // output projection, residual, ffn rmsnorm
            backend.matmul(w.wo, att, total, proj);
            lap = c.lap(PhaseClock.Phase.O_PROJ, lap);
            backend.forRows(total, rowSteps.norm(RowSteps.Step.RESIDUAL_NORM, w.ffnNorm));
            lap = c.lap(PhaseClock.Phase.NORM_RESIDUAL, lap);
            // SwiGLU: down(silu(gate(x)) * up(x)), residual, and the next layer's attention rmsnorm
            backend.matmulAll(w.gateUp, xb, total, ws.gateUpOut);
            lap = c.lap(PhaseClock.Phase.GATE_UP, lap);
            backend.swiglu(gate, up, total * cfg.intermediateSize());
            lap = c.lap(PhaseClock.Phase.SWIGLU, lap);
            backend.matmul(w.wDown, gate, total, proj);
            lap = c.lap(PhaseClock.Phase.DOWN, lap);
            backend.forRows(total, l + 1 < layers.length
                    ? rowSteps.norm(RowSteps.Step.RESIDUAL_NORM, layers[l + 1].attnNorm)
                    : rowSteps.norm(RowSteps.Step.RESIDUAL, null));
            lap = c.lap(PhaseClock.Phase.NORM_RESIDUAL, lap);
        }
        return lap;
    }

    /** Final norm and LM head, only on the rows the chunks asked for. */
    private ForwardOutput logits(List<SequenceChunk> batch, float[] x, int dim, Workspace ws) {
        int[] firstRow = ws.firstRow;
        int[] rowCount = ws.rowCount;
        int rows = 0;
        for (int i = 0; i < batch.size(); i++) {
            firstRow[i] = rows;
            rowCount[i] = batch.get(i).logitRows();
            rows += rowCount[i];
        }
        float[] picked = ws.picked;  // (rows, dim)
        int r = 0;
        int tokenBase = 0;
        for (int ci = 0; ci < batch.size(); ci++) {
            SequenceChunk c = batch.get(ci);
            for (int i = c.logitsFrom(); i < c.tokens().length; i++, r++) {
                System.arraycopy(x, (tokenBase + i) * dim, picked, r * dim, dim);
            }
            tokenBase += c.tokens().length;
        }
        float[] normed = ws.normed;
        for (int i = 0; i < rows; i++) {
            RowSteps.rmsnorm(picked, finalNorm, normed, i * dim, dim, cfg.rmsNormEps());
        }
        if (rows > 0) {
            backend.matmul(lmHead, normed, rows, ws.logits); // (rows, vocab)
        }
        return ws.output;
    }
}
