package dev.tandem.engine.compute;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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
     * {@code tail} is the calling worker's scratch of {@link #TAIL_PANELS} × L floats for a tile that ends in a
     * last, partial panel.
     */
    void block(float[] x, int tokens, int p0, int p1, float[] out, int outF, float[] tail);

    /** Output vectors of the largest tile (2 panels × 4 tokens), which a tile with a partial panel parks in tail. */
    int TAIL_PANELS = 8;

    /** Batches of at least this many tokens {@link #touch} each unit before the kernels run; a lone token does not. */
    int TOUCH_TOKENS = 2;

    /**
     * Reads one int of every cache line of {@code data[from, to)} and returns their sum, for the caller to store
     * where the loads cannot be dropped. A batch's first pass over a unit waits on memory with few lines in flight
     * (the 2 × 4 tile issues ~40 instructions per 128 bytes it loads, so the out-of-order window reaches little
     * ahead); this loop's loads depend on nothing and sit ~3 instructions a line apart, so the unit streams in at near
     * the probe's rate and every pass then finds it in cache. It shortens the wait, it does not overlap it with
     * compute, so a weight already in cache pays for it ({@code bench-kernel --tokens 32}: resident 89 / 77% of the
     * peak, streamed 65 / 72%). bench-engine {@code --prompt-len 16}, without / with, 3 alternating pairs each:
     * batch 2 114-186 / 179-200 tokens/s, batch 3 199-209 / 215-226, batch 4 285-305 / 333-426, batch 8 445-484 /
     * 499-596, a 16-token prefill 845-925 / 918-1036 (int8: batch 2 177-238 / 272-283, batch 3 209-317 / 320-347);
     * batch 32 and a 512-token prefill (8 and 128 passes per unit) within the noise. A lone token's one pass
     * ({@code k2x1}) is left alone: touched, int8 batch 1 fell from 1.57-1.73x to 1.50-1.55x the BF16 figure
     * ({@code bench-compare}) and BF16 batch 1 did not move.
     */
    static int touch(MemorySegment data, long from, long to) {
        int sum = 0;
        for (long o = from; o < to; o += 64) {
            sum += data.get(ValueLayout.JAVA_INT_UNALIGNED, o);
        }
        return sum;
    }

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
