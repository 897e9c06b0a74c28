package dev.tandem.cli;

import dev.tandem.config.Args;
import dev.tandem.config.EngineConfig;
import dev.tandem.config.Quantization;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.tensor.DType;
import dev.tandem.engine.tensor.Tensor;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.Set;

/**
 * {@code bench-kernel}: the BF16 matmul (or with {@code --quantization int8} the int8 one) alone, for one weight
 * shape and batch, in the two regimes a forward pass mixes: <b>resident</b> (one weight, passed over again and
 * again, so it comes from the caches) and <b>streamed</b> (enough distinct weights of the same shape to fill
 * {@code --stream-mb} as the kernel reads them, each read once per round, so every pass starts from memory, as each
 * layer's weights do in a decode step). Both against the FMA peak probed around each run; the streamed one also as
 * weight bytes per second against the read floor. The gap between the two lines is what memory costs the kernel at
 * that batch: the first pass over a panel pair waits for memory while the later ones compute from cache, and Java
 * has no prefetch to overlap them. Before timing, it checks its own output against a float64 product of the same
 * weights (made so that int8 holds them exactly), so the figures are for a kernel that computes the right thing.
 */
public final class BenchKernelCommand {
    private static final long PASS_NANOS = 300_000_000; // each regime of each run: at least this long

    private BenchKernelCommand() {
    }

    public static int run(String[] argv) {
        return run(argv, System.out);
    }

    static int run(String[] argv, PrintStream report) {
        Args a = Args.parse(argv, Set.of());
        int rows = positive("rows", a.integer("rows", 1536));
        int in = positive("in", a.integer("in", 576));
        int tokens = positive("tokens", a.integer("tokens", 32));
        int runs = positive("runs", a.integer("runs", 5));
        int streamMb = positive("stream-mb", a.integer("stream-mb", 256));
        int probeMb = a.integer("probe-mb", 1024);
        EngineConfig engine = a.engine(0);
        a.rejectUnknown();
        long weightBytes = 2L * rows * in;
        try (ComputeBackend backend = ComputeBackends.create(engine.backend(), engine.threads(),
                engine.quantization());
             Arena arena = Arena.ofShared();
             BenchLimits limits = new BenchLimits(backend, probeMb)) {
            // Distinct memory, same values: what matters for streaming is that no copy is in a cache when its turn comes.
            Random rnd = new Random(7);
            Tensor first = exactInt8(arena, rows, in, rnd);
            backend.prepare(first);
            long streamed = backend.streamedBytes(first);
            int copies = (int) Math.max(2, Math.min(100_000, ((long) streamMb << 20) / streamed));
            Tensor[] ws = new Tensor[copies];
            ws[0] = first;
            for (int c = 1; c < copies; c++) {
                MemorySegment d = arena.allocate(weightBytes, 64);
                MemorySegment.copy(ws[0].data(), 0, d, 0, weightBytes);
                ws[c] = new Tensor("w" + c, DType.BF16, new long[] {rows, in}, d);
                backend.prepare(ws[c]); // int8: the BF16 source is not read again (kept until the arena closes)
            }
            float[] x = new float[tokens * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] out = new float[tokens * rows];
            check(backend, ws[0], x, tokens, out);
            check(backend, ws[copies - 1], x, tokens, out);
            double flop = 2.0 * rows * in * tokens;
            report.printf("kernel: %s; weight %dx%d %s (%.2f MB as the kernel reads it), %d tokens%n",
                    ComputeBackends.describe(backend), rows, in,
                    engine.quantization() == Quantization.NONE ? "BF16" : "int8", streamed / 1e6, tokens);
            BenchLimits.Reading start = limits.full();
            report.printf("limits at start (compute threads, median of %d): read %.2f GB/s; FMA peak %.1f"
                    + " GFLOP/s%n", BenchLimits.FULL_RUNS, start.readBytesPerSecond() / 1e9,
                    start.flopsPerSecond() / 1e9);
            EngineBench.warmUntilJitQuiet(3, i -> round(backend, ws, x, tokens, out));
            double[] resident = new double[runs];
            double[] stream = new double[runs];
            BenchLimits.Reading[] around = new BenchLimits.Reading[runs + 1];
            around[0] = limits.bracket();
            for (int r = 0; r < runs; r++) {
                resident[r] = flop * perSecond(() -> backend.matmul(ws[0], x, tokens, out));
                stream[r] = flop * copies * perSecond(() -> round(backend, ws, x, tokens, out));
                around[r + 1] = limits.bracket();
            }
            double[] residentF = BenchLimits.fractions(resident, around, BenchLimits.Reading::flopsPerSecond);
            double[] streamF = BenchLimits.fractions(stream, around, BenchLimits.Reading::flopsPerSecond);
            double[] bytes = new double[runs];
            for (int r = 0; r < runs; r++) {
                bytes[r] = stream[r] / flop * streamed;
            }
            double[] bytesF = BenchLimits.fractions(bytes, around, BenchLimits.Reading::readBytesPerSecond);
            report.printf("resident (1 weight, again and again): %7.1f GFLOP/s %s; %.0f%% of FMA peak%n",
                    EngineBench.median(resident) / 1e9, BenchEngineCommand.spread(gf(resident)),
                    100 * EngineBench.median(residentF));
            report.printf("streamed (%d weights, %d MB, from memory): %7.1f GFLOP/s %s; %.0f%% of FMA peak;"
                    + " weights read at %.1f GB/s, %.0f%% of the read floor%n", copies, copies * streamed >> 20,
                    EngineBench.median(stream) / 1e9, BenchEngineCommand.spread(gf(stream)),
                    100 * EngineBench.median(streamF), EngineBench.median(bytes) / 1e9,
                    100 * EngineBench.median(bytesF));
        }
        return 0;
    }

    /** How many times a second {@code pass} runs, timed over at least {@link #PASS_NANOS}. */
    private static double perSecond(Runnable pass) {
        long t0 = System.nanoTime();
        long n = 0;
        long t;
        do {
            pass.run();
            n++;
            t = System.nanoTime() - t0;
        } while (t < PASS_NANOS);
        return n / (t / 1e9);
    }

    /** One pass over every copy, each once. */
    private static void round(ComputeBackend b, Tensor[] ws, float[] x, int tokens, float[] out) {
        for (Tensor w : ws) {
            b.matmul(w, x, tokens, out);
        }
    }

    /** The kernel's output against a float64 product of the same BF16 values; a mismatch is an error, not a figure. */
    static void check(ComputeBackend b, Tensor w, float[] x, int tokens, float[] out) {
        b.matmul(w, x, tokens, out);
        int rows = w.rows();
        int in = w.cols();
        float[] row = new float[in];
        for (int o = 0; o < rows; o++) {
            w.toFloats((long) o * in, row, 0, in);
            for (int t = 0; t < tokens; t++) {
                double sum = 0;
                double mag = 0;
                for (int k = 0; k < in; k++) {
                    double p = (double) row[k] * x[t * in + k];
                    sum += p;
                    mag += Math.abs(p);
                }
                double got = out[t * rows + o];
                if (Math.abs(got - sum) > 1e-5 * mag + 1e-6) {
                    throw new IllegalStateException("kernel output wrong at token " + t + ", row " + o + ": " + got
                            + " vs float64 " + sum);
                }
            }
        }
    }

    /**
     * Random BF16 weights that int8 quantization keeps exactly: each is {@code q / 1024} with {@code q} in
     * [-127, 127] and every row holding a 127, so a row's scale is exactly 1/1024 and its codes are the {@code q}s.
     * One float64 reference then checks the BF16 and the int8 kernels alike, the latter with nothing rounded away.
     */
    private static Tensor exactInt8(Arena arena, int rows, int in, Random rnd) {
        MemorySegment s = arena.allocate(2L * rows * in, 64);
        for (long i = 0; i < (long) rows * in; i++) {
            int q = i % in == (i / in) % in ? 127 : rnd.nextInt(255) - 127;
            float f = q / 1024f; // 7 significant bits at most: exact in BF16
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i, (short) (Float.floatToRawIntBits(f) >>> 16));
        }
        return new Tensor("w", DType.BF16, new long[] {rows, in}, s);
    }

    private static double[] gf(double[] flops) {
        double[] g = new double[flops.length];
        for (int i = 0; i < g.length; i++) {
            g[i] = flops[i] / 1e9;
        }
        return g;
    }

    private static int positive(String field, int v) {
        if (v < 1) {
            throw new IllegalArgumentException("--" + field + " must be at least 1, got " + v);
        }
        return v;
    }
}
