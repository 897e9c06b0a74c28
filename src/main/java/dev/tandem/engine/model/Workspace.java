package dev.tandem.engine.model;

import dev.tandem.engine.compute.AttentionBatch;

/**
 * The forward pass's activations, owned by one {@link Transformer} and reused by every call: a decode step must not
 * allocate (at batch 1 a fresh set of buffers plus the logits is ~0.3 MB per token on a small model, enough to keep a
 * young generation churning and stall on first-touched pages). Grown, never shrunk, when a batch needs more
 * tokens, chunks or logit rows than any before it.
 */
final class Workspace {
    private final ModelConfig cfg;
    private int tokens = -1;
    private int chunks = -1;
    private int logitRows = -1;

    int[] positions;     // (T)
    int[] tableOffsets;  // (T)
    int[] slots;         // (T)
    float[] x;           // (T, dim)
    float[] cos;         // (T, headDim/2)
    float[] sin;         // (T, headDim/2)
    float[] xb;          // (T, dim)
    float[] q;           // (T, heads * headDim)
    float[] k;           // (T, kvHeads * headDim)
    float[] v;           // (T, kvHeads * headDim)
    float[] att;         // (T, heads * headDim)
    float[] proj;        // (T, dim)
    float[] gate;        // (T, hidden)
    float[] up;          // (T, hidden)
    float[][] qkvOut;    // {q, k, v}
    float[][] gateUpOut; // {gate, up}
    int[] firstRow;      // (chunks)
    int[] rowCount;      // (chunks)
    float[] picked;      // (rows, dim)
    float[] normed;      // (rows, dim)
    float[] logits;      // (rows, vocab)
    ForwardOutput output;
    final AttentionBatch attention = new AttentionBatch();

    Workspace(ModelConfig cfg) {
        this.cfg = cfg;
    }

    /** Makes room for a batch of {@code t} tokens in {@code c} chunks wanting {@code rows} logit rows. */
    Workspace ensure(int t, int c, int rows) {
        if (t > tokens) {
            int n = Math.max(t, tokens * 5 / 4); // a little headroom so a slowly growing batch does not churn
            int dim = cfg.hiddenSize();
            int half = cfg.headDim() / 2;
            positions = new int[n];
            tableOffsets = new int[n];
            slots = new int[n];
            x = new float[n * dim];
            cos = new float[n * half];
            sin = new float[n * half];
            xb = new float[n * dim];
            q = new float[n * cfg.qDim()];
            k = new float[n * cfg.kvDim()];
            v = new float[n * cfg.kvDim()];
            att = new float[n * cfg.qDim()];
            proj = new float[n * dim];
            gate = new float[n * cfg.intermediateSize()];
            up = new float[n * cfg.intermediateSize()];
            qkvOut = new float[][] {q, k, v};
            gateUpOut = new float[][] {gate, up};
            tokens = n;
        }
        boolean outputChanged = false;
        if (c > chunks) {
            chunks = Math.max(c, chunks * 5 / 4);
            firstRow = new int[chunks];
            rowCount = new int[chunks];
            outputChanged = true;
        }
        if (rows > logitRows) {
            logitRows = Math.max(rows, logitRows * 5 / 4);
            picked = new float[logitRows * cfg.hiddenSize()];
            normed = new float[logitRows * cfg.hiddenSize()];
            logits = new float[logitRows * cfg.vocabSize()];
            outputChanged = true;
        }
        if (outputChanged) {
            output = new ForwardOutput(logits, cfg.vocabSize(), firstRow, rowCount);
        }
        return this;
    }
}
