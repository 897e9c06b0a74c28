package dev.tandem.engine.compute;

import dev.tandem.engine.tensor.DType;
import dev.tandem.engine.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A BF16 weight {@code [rows, in]} repacked once at load into panels of {@code L} output rows (L = float lanes), a
 * unit of two panels interleaved ({@link PanelTiles}): {@code [units, in/2, 2, L]} int32, where lane {@code r} of
 * panel {@code h}'s column pair {@code j} holds row {@code (2u + h)*L + r}'s elements {@code 2j} (low half) and
 * {@code 2j+1} (high half); an odd last panel is {@code [in/2, L]}; rows past the end are zero. One int-vector load
 * then yields, after a shift and a mask, the even and the odd column of L rows at once, so the kernels keep one
 * output row per lane: no horizontal sums, and a register tile of 2 panels × 4 tokens reuses each widened weight
 * vector for four tokens and each broadcast activation for 32 rows (2 × 2 and 2 × 1 take the tokens left over).
 *
 * <p>Every (row, token) output is computed the same way whatever tile covers it: an even-column and an odd-column
 * accumulator, column pairs in ascending order, then {@code even + odd}. So an output never depends on how many
 * tokens share the batch (the ragged-batch tests check this bit for bit).
 */
final class Bf16Panels extends PanelTiles {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED;
    private static final long PAIR_BYTES = (long) L * Integer.BYTES; // one column pair of one panel
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int HIGH = 0xFFFF0000;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);


    private Bf16Panels(MemorySegment data, int rows, int in) {
        super(data, rows, in, (long) in / 2 * PAIR_BYTES);
    }

    /** Whether {@link #pack} takes {@code w}: a 2-D BF16 matrix with an even number of columns. */
    static boolean packable(Tensor w) {
        return w.dtype() == DType.BF16 && w.shape().length == 2 && w.cols() % 2 == 0;
    }

    /** Copies {@code w} into panels allocated in {@code arena}, rows spread over {@code pool}'s threads. */
    static Bf16Panels pack(Tensor w, Arena arena, ParallelFor pool) {
        int rows = w.rows();
        int in = w.cols();
        int pairs = in / 2;
        int panels = (rows + L - 1) / L;
        MemorySegment dst = arena.allocate((long) panels * pairs * PAIR_BYTES, 64);
        MemorySegment src = w.data();
        pool.run(rows, 64, (first, end, worker) -> {
            for (int o = first; o < end; o++) {
                long from = (long) o * pairs * Integer.BYTES;
                long stride = slotStride(o / L, panels, PAIR_BYTES);
                long to = slotStart(o / L, pairs * PAIR_BYTES, PAIR_BYTES) + (long) (o % L) * Integer.BYTES;
                for (int j = 0; j < pairs; j++) {
                    // Little-endian: the int at 4j holds element 2j in its low half and 2j+1 in its high half.
                    int pair = src.get(I32, from + 4L * j);
                    dst.set(I32, to + j * stride, pair);
                }
            }
        });
        return new Bf16Panels(dst, rows, in);
    }

    @Override
    public long bytes() {
        return data.byteSize();
    }

    /**
     * Two panels, one token: the decode of a single request (and a batch's tokens past its last group of four).
     * Four independent chains where {@link #k1x1} has two, each output's arithmetic unchanged; k1x1 waits on the FMA
     * latency, which bounds how far ahead of memory a thread runs. One column pair an iteration, as one sequential
     * stream, in a loop C2 leaves as written ({@link #one}). bench-kernel {@code --tokens 1} (1536x576, Zen 5):
     * the counted loop over panels side by side against the loop as written taking two column pairs an iteration,
     * 3 alternating pairs, streamed 39.7-43.5 / 43.4-51.4 GB/s (61-68% / 73-83% of the read floor); two pairs an
     * iteration against one (this), 6 pairs, 30.7-43.4 / 42.1-50.5 GB/s (64-97% / 80-85%); bench-engine
     * {@code --batches 1}, two pairs / one, 6 pairs: 64-85% / 63-94% of the floor, one pair ahead or level in five.
     */
    @Override
    void k2x1(int p, float[] x, int t, float[] out, int outF, float[] tail) {
        FloatVector e0 = FloatVector.zero(FS), d0 = FloatVector.zero(FS);
        FloatVector e1 = FloatVector.zero(FS), d1 = FloatVector.zero(FS);
        long a0 = p * panelBytes;
        int xi = t * in;
        int pairs = in / 2;
        for (int j = 0, step = one; j < pairs; j += step) { // step is 1, but not to C2: see PanelTiles#one
            long o = a0 + (long) j * (2 * PAIR_BYTES);
            IntVector w0 = IntVector.fromMemorySegment(IS, data, o, LE);
            IntVector w1 = IntVector.fromMemorySegment(IS, data, o + PAIR_BYTES, LE);
            FloatVector xe = FloatVector.broadcast(FS, x[xi + 2 * j]);
            FloatVector xo = FloatVector.broadcast(FS, x[xi + 2 * j + 1]);
            e0 = xe.fma(w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e0);
            d0 = xo.fma(w0.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats(), d0);
            e1 = xe.fma(w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e1);
            d1 = xo.fma(w1.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats(), d1);
        }
        int r0 = p * L;
        if (r0 + 2 * L <= rows) {
            e0.add(d0).intoArray(out, t * outF + r0);
            e1.add(d1).intoArray(out, t * outF + r0 + L);
        } else {
            e0.add(d0).intoArray(tail, 0);
            e1.add(d1).intoArray(tail, L);
            PanelWeight.spill(tail, 1, 2, out, t * outF, outF, p, rows);
        }
    }

    // The even column of a pair is its low half shifted up (w << 16), the odd one its high half (w & 0xFFFF0000).
    // Written out in each kernel rather than as helpers: a helper that returns a vector is a call C2 may decline to
    // inline (into a big kernel, once the helper has its own compiled code), and then every vector it returns is a
    // heap object (~20 KB a token at batch 4, seen by HotPathAllocationTest's batched case).

    /**
     * One panel, one token: a unit's lone last panel ({@link #k2x1} takes the pairs). Four column
     * pairs per iteration, addressed from the int counter: with one pair per iteration and a long running offset,
     * the loop's own bookkeeping (a bounds check per load, no unrolling) held one thread to ~55% of its read
     * bandwidth; this form reaches ~90-100% of it (single-thread, the lm_head's shape). Same chains, same order.
     * (A slice per panel would read as well but is an object C2 does not always scalar-replace.)
     */
    @Override
    void k1x1(int p, float[] x, int t, float[] out, int outF, float[] tail) {
        FloatVector e = FloatVector.zero(FS);
        FloatVector d = FloatVector.zero(FS);
        long base = p * panelBytes;
        int pairs = in / 2;
        int xi = t * in;
        int j = 0;
        for (; j + 3 < pairs; j += 4) {
            long o = base + (long) j * PAIR_BYTES;
            int k = xi + 2 * j;
            IntVector w0 = IntVector.fromMemorySegment(IS, data, o, LE);
            IntVector w1 = IntVector.fromMemorySegment(IS, data, o + PAIR_BYTES, LE);
            IntVector w2 = IntVector.fromMemorySegment(IS, data, o + 2 * PAIR_BYTES, LE);
            IntVector w3 = IntVector.fromMemorySegment(IS, data, o + 3 * PAIR_BYTES, LE);
            e = FloatVector.broadcast(FS, x[k]).fma(w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e);
            d = FloatVector.broadcast(FS, x[k + 1]).fma(w0.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats(), d);
            e = FloatVector.broadcast(FS, x[k + 2]).fma(w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e);
            d = FloatVector.broadcast(FS, x[k + 3]).fma(w1.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats(), d);
            e = FloatVector.broadcast(FS, x[k + 4]).fma(w2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e);
            d = FloatVector.broadcast(FS, x[k + 5]).fma(w2.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats(), d);
            e = FloatVector.broadcast(FS, x[k + 6]).fma(w3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e);
            d = FloatVector.broadcast(FS, x[k + 7]).fma(w3.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats(), d);
        }
        for (; j < pairs; j++) {
            IntVector w = IntVector.fromMemorySegment(IS, data, base + (long) j * PAIR_BYTES, LE);
            int k = xi + 2 * j;
            e = FloatVector.broadcast(FS, x[k]).fma(w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e);
            d = FloatVector.broadcast(FS, x[k + 1]).fma(w.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats(), d);
        }
        if ((p + 1) * L <= rows) {
            e.add(d).intoArray(out, t * outF + p * L);
        } else {
            e.add(d).intoArray(tail, 0);
            PanelWeight.spill(tail, 1, 1, out, t * outF, outF, p, rows);
        }
    }

    /**
     * Two panels by two tokens: a batch's two tokens past its last group of four (batches of 2, 3, 6, 7, ...) in one
     * pass over the panels, where two {@link #k2x1} passes read them twice. Same outputs bit for bit. bench-engine
     * {@code --prompt-len 16 --batches 2,3,6}, k2x1 twice / k2x2, 3 alternating pairs: batch 2 161-181 / 185-224
     * tokens/s, batch 3 184-207 / 225-266, batch 6 297-351 / 392-440 (int8, 2 pairs: +7-12%, +6-24%, -2-+8%).
     */
    @Override
    void k2x2(int p, float[] x, int t, float[] out, int outF, float[] tail) {
        FloatVector e00 = FloatVector.zero(FS), d00 = FloatVector.zero(FS); // panel 0, token 0
        FloatVector e01 = FloatVector.zero(FS), d01 = FloatVector.zero(FS);
        FloatVector e10 = FloatVector.zero(FS), d10 = FloatVector.zero(FS); // panel 1, token 0
        FloatVector e11 = FloatVector.zero(FS), d11 = FloatVector.zero(FS);
        long a0 = p * panelBytes;
        long a1 = a0 + PAIR_BYTES;
        int x0 = t * in;
        int x1 = x0 + in;
        for (int k = 0; k < in; k += 2, a0 += 2 * PAIR_BYTES, a1 += 2 * PAIR_BYTES) {
            IntVector w0 = IntVector.fromMemorySegment(IS, data, a0, LE);
            IntVector w1 = IntVector.fromMemorySegment(IS, data, a1, LE);
            FloatVector we0 = w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo0 = w0.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats();
            FloatVector we1 = w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo1 = w1.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats();
            FloatVector xe = FloatVector.broadcast(FS, x[x0 + k]);
            FloatVector xo = FloatVector.broadcast(FS, x[x0 + k + 1]);
            e00 = xe.fma(we0, e00);
            d00 = xo.fma(wo0, d00);
            e10 = xe.fma(we1, e10);
            d10 = xo.fma(wo1, d10);
            xe = FloatVector.broadcast(FS, x[x1 + k]);
            xo = FloatVector.broadcast(FS, x[x1 + k + 1]);
            e01 = xe.fma(we0, e01);
            d01 = xo.fma(wo0, d01);
            e11 = xe.fma(we1, e11);
            d11 = xo.fma(wo1, d11);
        }
        int o0 = t * outF;
        int r0 = p * L;
        if (r0 + 2 * L <= rows) {
            e00.add(d00).intoArray(out, o0 + r0);
            e10.add(d10).intoArray(out, o0 + r0 + L);
            e01.add(d01).intoArray(out, o0 + outF + r0);
            e11.add(d11).intoArray(out, o0 + outF + r0 + L);
        } else {
            e00.add(d00).intoArray(tail, 0);
            e10.add(d10).intoArray(tail, L);
            e01.add(d01).intoArray(tail, 2 * L);
            e11.add(d11).intoArray(tail, 3 * L);
            PanelWeight.spill(tail, 2, 2, out, o0, outF, p, rows);
        }
    }

    /** Two panels (2L rows) by four tokens: 16 accumulators, each weight vector used four times. */
    @Override
    void k2x4(int p, float[] x, int t, float[] out, int outF, float[] tail) {
        FloatVector e00 = FloatVector.zero(FS), d00 = FloatVector.zero(FS); // panel 0, token 0
        FloatVector e01 = FloatVector.zero(FS), d01 = FloatVector.zero(FS);
        FloatVector e02 = FloatVector.zero(FS), d02 = FloatVector.zero(FS);
        FloatVector e03 = FloatVector.zero(FS), d03 = FloatVector.zero(FS);
        FloatVector e10 = FloatVector.zero(FS), d10 = FloatVector.zero(FS); // panel 1, token 0
        FloatVector e11 = FloatVector.zero(FS), d11 = FloatVector.zero(FS);
        FloatVector e12 = FloatVector.zero(FS), d12 = FloatVector.zero(FS);
        FloatVector e13 = FloatVector.zero(FS), d13 = FloatVector.zero(FS);
        long a0 = p * panelBytes;
        long a1 = a0 + PAIR_BYTES;
        int x0 = t * in;
        int x1 = x0 + in;
        int x2 = x1 + in;
        int x3 = x2 + in;
        for (int k = 0; k < in; k += 2, a0 += 2 * PAIR_BYTES, a1 += 2 * PAIR_BYTES) {
            IntVector w0 = IntVector.fromMemorySegment(IS, data, a0, LE);
            IntVector w1 = IntVector.fromMemorySegment(IS, data, a1, LE);
            FloatVector we0 = w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo0 = w0.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats();
            FloatVector we1 = w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wo1 = w1.lanewise(VectorOperators.AND, HIGH).reinterpretAsFloats();
            FloatVector xe = FloatVector.broadcast(FS, x[x0 + k]);
            FloatVector xo = FloatVector.broadcast(FS, x[x0 + k + 1]);
            e00 = xe.fma(we0, e00);
            d00 = xo.fma(wo0, d00);
            e10 = xe.fma(we1, e10);
            d10 = xo.fma(wo1, d10);
            xe = FloatVector.broadcast(FS, x[x1 + k]);
            xo = FloatVector.broadcast(FS, x[x1 + k + 1]);
            e01 = xe.fma(we0, e01);
            d01 = xo.fma(wo0, d01);
            e11 = xe.fma(we1, e11);
            d11 = xo.fma(wo1, d11);
            xe = FloatVector.broadcast(FS, x[x2 + k]);
            xo = FloatVector.broadcast(FS, x[x2 + k + 1]);
            e02 = xe.fma(we0, e02);
            d02 = xo.fma(wo0, d02);
            e12 = xe.fma(we1, e12);
            d12 = xo.fma(wo1, d12);
            xe = FloatVector.broadcast(FS, x[x3 + k]);
            xo = FloatVector.broadcast(FS, x[x3 + k + 1]);
            e03 = xe.fma(we0, e03);
            d03 = xo.fma(wo0, d03);
            e13 = xe.fma(we1, e13);
            d13 = xo.fma(wo1, d13);
        }
        int o0 = t * outF;
        int r0 = p * L;
        if (r0 + 2 * L <= rows) { // both panels whole (all but a matrix's last tile): straight into out
            e00.add(d00).intoArray(out, o0 + r0);
            e10.add(d10).intoArray(out, o0 + r0 + L);
            e01.add(d01).intoArray(out, o0 + outF + r0);
            e11.add(d11).intoArray(out, o0 + outF + r0 + L);
            e02.add(d02).intoArray(out, o0 + 2 * outF + r0);
            e12.add(d12).intoArray(out, o0 + 2 * outF + r0 + L);
            e03.add(d03).intoArray(out, o0 + 3 * outF + r0);
            e13.add(d13).intoArray(out, o0 + 3 * outF + r0 + L);
        } else { // the second panel is partial: through the scratch, rows past the end dropped
            e00.add(d00).intoArray(tail, 0);
            e10.add(d10).intoArray(tail, L);
            e01.add(d01).intoArray(tail, 2 * L);
            e11.add(d11).intoArray(tail, 3 * L);
            e02.add(d02).intoArray(tail, 4 * L);
            e12.add(d12).intoArray(tail, 5 * L);
            e03.add(d03).intoArray(tail, 6 * L);
            e13.add(d13).intoArray(tail, 7 * L);
            PanelWeight.spill(tail, 4, 2, out, o0, outF, p, rows);
        }
    }
}
