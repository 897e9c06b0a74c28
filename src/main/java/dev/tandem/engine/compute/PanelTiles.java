package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What both panel formats share: the panels' memory and shape, and the schedule of register tiles over a call's
 * tokens ({@link #block}): groups of four tokens take {@link #k2x4}, two left over {@link #k2x2}, a last one
 * {@link #k2x1}, a unit's lone last panel {@link #k1x1}; a batch of two or more first {@link #touch}es the unit. The
 * formats implement the kernels, each computing every (row, token) output the same way whatever tile covers it.
 *
 * <p>A unit is two panels ({@code p} even, {@code p + 1}) stored interleaved, column by column, so a pass over it
 * reads one sequential stream of {@code 2 * panelBytes} bytes starting at {@code p * panelBytes}; an odd last panel
 * has no partner and is stored alone at its own offset. {@link #block} is called with {@code p0} even and {@code p1}
 * even or the panel count (the callers' units). With the panels side by side a one-token pass reads two streams 18 KB
 * apart, each only four and a half 4 KB pages long (an {@code in}-576 panel), and the hardware prefetchers seem to
 * ramp up on each separately: in a C harness (gcc -O3, two threads, each a contiguous half of 160 matrices of
 * 1536x576) the same kernel streamed 32-43 GB/s over panels side by side and 47-65 over interleaved ones. In Java
 * the layout pays only together with the loop form below (interleaved alone, counted: 33-35 against 38-45 GB/s).
 */
abstract sealed class PanelTiles implements PanelWeight permits Bf16Panels, Int8Panels {
    static final int L = FloatVector.SPECIES_PREFERRED.length();
    /** Batches of at least this many tokens {@link #touch} each unit before the kernels run; a lone token does not. */
    static final int TOUCH_TOKENS = 2;

    final MemorySegment data;
    final int rows;
    final int in;
    final int panels;
    /** Bytes of one panel: the unit of panels {@code p, p + 1} ({@code p} even) starts at {@code p * panelBytes}. */
    final long panelBytes;
    /**
     * Always 1: the one-token kernels' loops step by it (BF16 one column pair, int8 {@code 2 * one}), read from a
     * field (not final, so no JIT can fold it) because a loop whose stride C2 cannot prove constant is not a counted
     * loop, and C2 then leaves it as written. Counted, C2 unrolls it eight times and hoists the sixteen weight loads
     * of the unrolled body above their FMAs; streaming from memory that form read 29-38 GB/s on two Zen 5 threads
     * where the loop as written, the loads between the FMAs, read 42-46 (the same kernel compiled by gcc -O3, ~47;
     * medians of ten alternating passes in a throwaway two-thread harness, two runs). What it costs, a bounds check
     * per load, is hidden behind memory; from cache the int8 kernel loses ~13% ({@code bench-kernel --tokens 1}).
     */
    int one;

    PanelTiles(MemorySegment data, int rows, int in, long panelBytes) {
        this.data = data;
        this.rows = rows;
        this.in = in;
        this.panels = (rows + L - 1) / L;
        this.panelBytes = panelBytes;
        this.one = 1;
    }

    /**
     * Where panel {@code panel}'s first slot is stored ({@link PanelTiles}' layout): its unit's start plus, for the
     * second panel of a unit, one slot (an odd last panel is even, so it starts where its unit would); a slot is what
     * one panel holds of one step along {@code in} (a BF16 column pair, an int8 column). Consecutive slots of the
     * panel are {@link #slotStride} apart.
     */
    static long slotStart(int panel, long panelBytes, long slotBytes) {
        return (panel & ~1) * panelBytes + (panel & 1) * slotBytes;
    }

    /** Bytes from one slot of {@code panel} to its next: two slots in a unit, one for an odd last panel alone. */
    static long slotStride(int panel, int panels, long slotBytes) {
        return (panel | 1) >= panels ? slotBytes : 2 * slotBytes;
    }

    @Override
    public int panelCount() {
        return panels;
    }

    @Override
    public final void block(float[] x, int tokens, int p0, int p1, float[] out, int outF, float[] tail) {
        if (tokens >= TOUCH_TOKENS) {
            tail[0] = touch(data, p0 * panelBytes, p1 * panelBytes); // a store keeps the loads
        }
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            int p = p0;
            for (; p + 2 <= p1; p += 2) {
                k2x4(p, x, t, out, outF, tail);
            }
            for (; p < p1; p++) {
                for (int tt = t; tt < t + 4; tt++) {
                    k1x1(p, x, tt, out, outF, tail);
                }
            }
        }
        if (t + 2 <= tokens) {
            int p = p0;
            for (; p + 2 <= p1; p += 2) {
                k2x2(p, x, t, out, outF, tail);
            }
            for (; p < p1; p++) {
                k1x1(p, x, t, out, outF, tail);
                k1x1(p, x, t + 1, out, outF, tail);
            }
            t += 2;
        }
        for (; t < tokens; t++) {
            int p = p0;
            for (; p + 2 <= p1; p += 2) {
                k2x1(p, x, t, out, outF, tail);
            }
            for (; p < p1; p++) {
                k1x1(p, x, t, out, outF, tail);
            }
        }
    }

    /** Two panels (2L rows) by four tokens {@code t..t+3}. */
    abstract void k2x4(int p, float[] x, int t, float[] out, int outF, float[] tail);

    /** Two panels by two tokens {@code t, t+1}. */
    abstract void k2x2(int p, float[] x, int t, float[] out, int outF, float[] tail);

    /** Two panels by one token. */
    abstract void k2x1(int p, float[] x, int t, float[] out, int outF, float[] tail);

    /** One panel by one token. */
    abstract void k1x1(int p, float[] x, int t, float[] out, int outF, float[] tail);

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
}
