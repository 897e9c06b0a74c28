package dev.tandem.engine.compute;

/**
 * A weight repacked at load into panels of L output rows (one row per float lane), which the panel kernels stream:
 * {@link Bf16Panels} (BF16 as stored) or {@link Int8Panels} ({@code --quantization int8}), both scheduled over a
 * call's tokens by {@link PanelTiles}.
 */
interface PanelWeight {
    /** Bytes one pass over the weight reads (codes and scales). */
    long bytes();

    /** Panels of L rows; the last one may be partial. */
    int panelCount();

    /**
     * {@code out[t, o] = w[o, :] · x[t, :]} for the rows of panels {@code [p0, p1)} and tokens {@code [0, tokens)};
     * {@code tail} is the calling worker's scratch of {@link #TAIL_PANELS} × L floats for a tile that ends in a
     * last, partial panel.
     */
    void block(float[] x, int tokens, int p0, int p1, float[] out, int outF, float[] tail);

    /** Output vectors of the largest tile (2 panels × 4 tokens), which a tile with a partial panel parks in tail. */
    int TAIL_PANELS = 8;

    /**
     * Copies a tile's outputs parked in {@code tail} ({@code tail[(token * panels + j) * L ..]} for panel
     * {@code p + j}) to {@code out}, dropping the rows past {@code rows}. The kernels store their vectors themselves
     * and call this without one: a vector passed to a call C2 does not inline is boxed, and the epilogue of a big
     * kernel is where C2 stops inlining (a {@code store(FloatVector, ...)} helper allocated ~20 KB a token at batch 4).
     */
    static void spill(float[] tail, int tokens, int panels, float[] out, int rowOff, int outF, int p, int rows) {
        int l = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < panels; j++) {
                int o = (p + j) * l;
                int n = Math.min(l, rows - o);
                if (n > 0) {
                    System.arraycopy(tail, (t * panels + j) * l, out, rowOff + t * outF + o, n);
                }
            }
        }
    }
}
