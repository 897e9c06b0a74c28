package dev.tandem.engine.compute;

import dev.tandem.engine.tensor.Tensor;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A weight {@code [rows, in]} of any stored dtype quantized once at load to int8 with one scale per output row
 * (weight-only, symmetric: {@code scale[o] = max_k |w[o, k]| / 127}, {@code q = rint(w / scale)}), laid out in
 * panels of {@code L} rows, column-major, a unit's two panels interleaved ({@link PanelTiles}):
 * {@code [units, in, 2, L]} bytes (an odd last panel {@code [in, L]}), so one 64-byte line holds both panels' two
 * columns of a pair. A decode step reads half the bytes of BF16. Each output is
 * {@code (Σ_even x·q + Σ_odd x·q) · scale[o]}, columns in ascending order in two accumulators, the same way whatever
 * tile computes it, so results never depend on the batch.
 */
final class Int8Panels extends PanelTiles {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    final float[] scales; // (panels * L), zero past the last row

    private Int8Panels(MemorySegment data, float[] scales, int rows, int in) {
        super(data, rows, in, (long) in * L);
        this.scales = scales;
    }

    /** Whether {@link #quantize} takes {@code w}: a 2-D matrix with an even number of columns. */
    static boolean quantizable(Tensor w) {
        return w.shape().length == 2 && w.cols() % 2 == 0;
    }

    /** The row's scale: its largest magnitude over 127 (0 for an all-zero row). */
    static float scaleOf(Tensor w, int o) {
        int in = w.cols();
        float max = 0;
        for (int k = 0; k < in; k++) {
            max = Math.max(max, Math.abs(w.get((long) o * in + k)));
        }
        return max / 127f;
    }

    /** The int8 code of {@code value} in a row of scale {@code scale}. */
    static byte code(float value, float scale) {
        if (scale == 0f) {
            return 0;
        }
        return (byte) Math.max(-127, Math.min(127, Math.rint(value / scale)));
    }

    /** Quantizes {@code w} into panels allocated in {@code arena}, rows spread over {@code pool}'s threads. */
    static Int8Panels quantize(Tensor w, Arena arena, ParallelFor pool) {
        int rows = w.rows();
        int in = w.cols();
        int panels = (rows + L - 1) / L;
        MemorySegment dst = arena.allocate((long) panels * in * L, 64);
        float[] scales = new float[panels * L];
        pool.run(rows, 64, (first, end, worker) -> {
            for (int o = first; o < end; o++) {
                float s = scaleOf(w, o);
                scales[o] = s;
                long stride = slotStride(o / L, panels, L);
                long base = slotStart(o / L, (long) in * L, L) + o % L;
                for (int k = 0; k < in; k++) {
                    dst.set(ValueLayout.JAVA_BYTE, base + k * stride, code(w.get((long) o * in + k), s));
                }
            }
        });
        return new Int8Panels(dst, scales, rows, in);
    }

    @Override
    public long bytes() {
        return data.byteSize() + 4L * scales.length;
    }

    /**
     * Two panels, one token: four independent chains where {@link #k1x1} has two, each output's the same as there.
     * k1x1 waits on the FMA latency (each chain one FMA every 4 cycles, ~2 cycles a column), which leaves int8 too
     * little headroom over memory. Two column pairs an iteration, as one sequential stream, in a loop C2 leaves as
     * written ({@link #one}); one pair an iteration (as {@code Bf16Panels} does) lost a quarter from cache (90-92
     * against 123-132 GFLOP/s) and streamed no faster. bench-kernel {@code --tokens 1 --quantization int8} (1536x576, Zen 5, 3
     * alternating pairs): counted loop over panels side by side (before) / this, streamed 60-65 / 70-94 GFLOP/s
     * (50-52% / 66-69% of the read floor), from cache 139-151 / 120-131 GFLOP/s.
     */
    @Override
    void k2x1(int p, float[] x, int t, float[] out, int outF, float[] tail) {
        FloatVector e0 = FloatVector.zero(FS), d0 = FloatVector.zero(FS);
        FloatVector e1 = FloatVector.zero(FS), d1 = FloatVector.zero(FS);
        long a0 = p * panelBytes;
        int xi = t * in;
        int pairs = in / 2;
        int j = 0;
        for (int step = 2 * one; j + 1 < pairs; j += step) { // step is 2, but not to C2: see PanelTiles#one
            long o = a0 + (long) j * (4 * L);
            FloatVector xe = FloatVector.broadcast(FS, x[xi + 2 * j]);
            FloatVector xo = FloatVector.broadcast(FS, x[xi + 2 * j + 1]);
            e0 = xe.fma(column(o), e0);
            e1 = xe.fma(column(o + L), e1);
            d0 = xo.fma(column(o + 2 * L), d0);
            d1 = xo.fma(column(o + 3 * L), d1);
            xe = FloatVector.broadcast(FS, x[xi + 2 * j + 2]);
            xo = FloatVector.broadcast(FS, x[xi + 2 * j + 3]);
            e0 = xe.fma(column(o + 4 * L), e0);
            e1 = xe.fma(column(o + 5 * L), e1);
            d0 = xo.fma(column(o + 6 * L), d0);
            d1 = xo.fma(column(o + 7 * L), d1);
        }
        if (j < pairs) { // an odd number of column pairs: the last one
            long o = a0 + (long) j * (4 * L);
            FloatVector xe = FloatVector.broadcast(FS, x[xi + 2 * j]);
            FloatVector xo = FloatVector.broadcast(FS, x[xi + 2 * j + 1]);
            e0 = xe.fma(column(o), e0);
            e1 = xe.fma(column(o + L), e1);
            d0 = xo.fma(column(o + 2 * L), d0);
            d1 = xo.fma(column(o + 3 * L), d1);
        }
        int r0 = p * L;
        FloatVector s0 = FloatVector.fromArray(FS, scales, r0);
        FloatVector s1 = FloatVector.fromArray(FS, scales, r0 + L);
        if (r0 + 2 * L <= rows) {
            e0.add(d0).mul(s0).intoArray(out, t * outF + r0);
            e1.add(d1).mul(s1).intoArray(out, t * outF + r0 + L);
        } else {
            e0.add(d0).mul(s0).intoArray(tail, 0);
            e1.add(d1).mul(s1).intoArray(tail, L);
            PanelWeight.spill(tail, 1, 2, out, t * outF, outF, p, rows);
        }
    }

    private FloatVector column(long at) {
        return (FloatVector) ByteVector.fromMemorySegment(BS, data, at, LE).convertShape(VectorOperators.B2F, FS, 0);
    }

    /**
     * One panel, one token. Four column pairs per iteration, offsets from the int counter (as {@code Bf16Panels}'s:
     * one pair per iteration with a long running offset left the loop bookkeeping-bound). Same chains, same order.
     */
    @Override
    void k1x1(int p, float[] x, int t, float[] out, int outF, float[] tail) {
        FloatVector e = FloatVector.zero(FS);
        FloatVector d = FloatVector.zero(FS);
        long base = p * panelBytes;
        int xi = t * in;
        int pairs = in / 2;
        int j = 0;
        for (; j + 3 < pairs; j += 4) {
            long o = base + (long) j * 2 * L;
            int k = xi + 2 * j;
            e = FloatVector.broadcast(FS, x[k]).fma(column(o), e);
            d = FloatVector.broadcast(FS, x[k + 1]).fma(column(o + L), d);
            e = FloatVector.broadcast(FS, x[k + 2]).fma(column(o + 2 * L), e);
            d = FloatVector.broadcast(FS, x[k + 3]).fma(column(o + 3 * L), d);
            e = FloatVector.broadcast(FS, x[k + 4]).fma(column(o + 4 * L), e);
            d = FloatVector.broadcast(FS, x[k + 5]).fma(column(o + 5 * L), d);
            e = FloatVector.broadcast(FS, x[k + 6]).fma(column(o + 6 * L), e);
            d = FloatVector.broadcast(FS, x[k + 7]).fma(column(o + 7 * L), d);
        }
        for (; j < pairs; j++) {
            long o = base + (long) j * 2 * L;
            e = FloatVector.broadcast(FS, x[xi + 2 * j]).fma(column(o), e);
            d = FloatVector.broadcast(FS, x[xi + 2 * j + 1]).fma(column(o + L), d);
        }
        if ((p + 1) * L <= rows) {
            e.add(d).mul(FloatVector.fromArray(FS, scales, p * L)).intoArray(out, t * outF + p * L);
        } else {
            e.add(d).mul(FloatVector.fromArray(FS, scales, p * L)).intoArray(tail, 0);
            PanelWeight.spill(tail, 1, 1, out, t * outF, outF, p, rows);
        }
    }

    /** Two panels by two tokens: a batch's two tokens past its last group of four, in one pass over the panels. */
    @Override
    void k2x2(int p, float[] x, int t, float[] out, int outF, float[] tail) {
        FloatVector e00 = FloatVector.zero(FS), d00 = FloatVector.zero(FS); // panel 0, token 0
        FloatVector e01 = FloatVector.zero(FS), d01 = FloatVector.zero(FS);
        FloatVector e10 = FloatVector.zero(FS), d10 = FloatVector.zero(FS); // panel 1, token 0
        FloatVector e11 = FloatVector.zero(FS), d11 = FloatVector.zero(FS);
        long a0 = p * panelBytes;
        int x0 = t * in;
        int x1 = x0 + in;
        for (int k = 0; k < in; k += 2, a0 += 4L * L) {
            FloatVector we0 = column(a0), we1 = column(a0 + L), wo0 = column(a0 + 2 * L), wo1 = column(a0 + 3 * L);
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
        FloatVector s0 = FloatVector.fromArray(FS, scales, r0);
        FloatVector s1 = FloatVector.fromArray(FS, scales, r0 + L);
        if (r0 + 2 * L <= rows) {
            e00.add(d00).mul(s0).intoArray(out, o0 + r0);
            e10.add(d10).mul(s1).intoArray(out, o0 + r0 + L);
            e01.add(d01).mul(s0).intoArray(out, o0 + outF + r0);
            e11.add(d11).mul(s1).intoArray(out, o0 + outF + r0 + L);
        } else {
            e00.add(d00).mul(s0).intoArray(tail, 0);
            e10.add(d10).mul(s1).intoArray(tail, L);
            e01.add(d01).mul(s0).intoArray(tail, 2 * L);
            e11.add(d11).mul(s1).intoArray(tail, 3 * L);
            PanelWeight.spill(tail, 2, 2, out, o0, outF, p, rows);
        }
    }

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
        int x0 = t * in;
        int x1 = x0 + in;
        int x2 = x1 + in;
        int x3 = x2 + in;
        for (int k = 0; k < in; k += 2, a0 += 4L * L) {
            FloatVector we0 = column(a0), we1 = column(a0 + L), wo0 = column(a0 + 2 * L), wo1 = column(a0 + 3 * L);
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
        FloatVector s0 = FloatVector.fromArray(FS, scales, r0);
        FloatVector s1 = FloatVector.fromArray(FS, scales, r0 + L);
        if (r0 + 2 * L <= rows) { // both panels whole (all but a matrix's last tile): straight into out
            e00.add(d00).mul(s0).intoArray(out, o0 + r0);
            e10.add(d10).mul(s1).intoArray(out, o0 + r0 + L);
            e01.add(d01).mul(s0).intoArray(out, o0 + outF + r0);
            e11.add(d11).mul(s1).intoArray(out, o0 + outF + r0 + L);
            e02.add(d02).mul(s0).intoArray(out, o0 + 2 * outF + r0);
            e12.add(d12).mul(s1).intoArray(out, o0 + 2 * outF + r0 + L);
            e03.add(d03).mul(s0).intoArray(out, o0 + 3 * outF + r0);
            e13.add(d13).mul(s1).intoArray(out, o0 + 3 * outF + r0 + L);
        } else { // the second panel is partial: through the scratch, rows past the end dropped
            e00.add(d00).mul(s0).intoArray(tail, 0);
            e10.add(d10).mul(s1).intoArray(tail, L);
            e01.add(d01).mul(s0).intoArray(tail, 2 * L);
            e11.add(d11).mul(s1).intoArray(tail, 3 * L);
            e02.add(d02).mul(s0).intoArray(tail, 4 * L);
            e12.add(d12).mul(s1).intoArray(tail, 5 * L);
            e03.add(d03).mul(s0).intoArray(tail, 6 * L);
            e13.add(d13).mul(s1).intoArray(tail, 7 * L);
            PanelWeight.spill(tail, 4, 2, out, o0, outF, p, rows);
        }
    }
}
