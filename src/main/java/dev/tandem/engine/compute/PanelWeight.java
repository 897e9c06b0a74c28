package dev.tandem.engine.compute;

/**
 * A weight repacked at load into panels of L output rows (one row per float lane), which the panel kernels stream:
 * {@link Bf16Panels} (BF16 as stored) or {@link Int8Panels} ({@code --quantization int8}).
 */
interface PanelWeight {
    /** Bytes one pass over the weight reads (codes and scales). */
    long bytes();

    /** Panels of L rows; the last one may be partial. */
    int panelCount();

    /**
     * {@code out[t, o] = w[o, :] · x[t, :]} for the rows of panels {@code [p0, p1)} and tokens {@code [0, tokens)};
     * {@code tail} is the calling worker's scratch of L floats for a last, partial panel.
     */
    void block(float[] x, int tokens, int p0, int p1, float[] out, int outF, float[] tail);
}
