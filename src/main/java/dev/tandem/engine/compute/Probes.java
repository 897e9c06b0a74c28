package dev.tandem.engine.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The two limits an engine's speed is judged against, measured on a backend's own compute threads (the threads and
 * the SIMD width the kernels get): how fast they can stream memory (a read-only reduction, since a decode step only
 * reads weights) and how many FLOPs they can issue (independent FMAs on registers). Each call is one measurement;
 * callers take the median of several.
 */
public final class Probes {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int L = FS.length();
    private static final long STRIDE = 8L * L * Float.BYTES; // bytes per unrolled step of the read loop
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Probes() {
    }

    /** Bytes per second of one read-only pass over {@code data} (its size a multiple of 512 bytes). */
    public static double readBytesPerSecond(ComputeBackend backend, MemorySegment data) {
        long size = data.byteSize() / STRIDE * STRIDE;
        int steps = (int) Math.min(Integer.MAX_VALUE, size / STRIDE);
        float[] sinks = new float[threads(backend)];
        long t0 = System.nanoTime();
        run(backend, steps, 4096, (from, to, worker) -> sinks[worker] += readSum(data, from * STRIDE, to * STRIDE));
        long ns = System.nanoTime() - t0;
        blackhole(sinks);
        return (double) steps * STRIDE / (ns / 1e9);
    }

    /** Floating-point operations per second of {@code fmasPerThread} vector FMAs on each compute thread. */
    public static double fmaFlopsPerSecond(ComputeBackend backend, long fmasPerThread) {
        int threads = threads(backend);
        float[] sinks = new float[threads];
        long rounds = Math.max(1, fmasPerThread / 12);
        long t0 = System.nanoTime();
        run(backend, threads, 1, (from, to, worker) -> {
            for (int i = from; i < to; i++) {
                sinks[worker] += fmaLoop(rounds, 1f + worker * 1e-7f);
            }
        });
        long ns = System.nanoTime() - t0;
        blackhole(sinks);
        return 2.0 * L * 12 * rounds * threads / (ns / 1e9);
    }

    private static int threads(ComputeBackend b) {
        return b instanceof VectorBackend v ? v.threads() : 1;
    }

    private static void run(ComputeBackend b, int n, int grain, ParallelFor.RangeBody body) {
        if (b instanceof VectorBackend v) {
            v.parallelRun(n, grain, body);
        } else {
            body.run(0, n, 0);
        }
    }

    /** Eight independent add chains so the loads, not the adds, set the pace. */
    private static float readSum(MemorySegment s, long from, long to) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS);
        FloatVector a3 = FloatVector.zero(FS), a4 = FloatVector.zero(FS), a5 = FloatVector.zero(FS);
        FloatVector a6 = FloatVector.zero(FS), a7 = FloatVector.zero(FS);
        long vb = (long) L * Float.BYTES;
        for (long at = from; at < to; at += STRIDE) {
            a0 = a0.add(FloatVector.fromMemorySegment(FS, s, at, LE));
            a1 = a1.add(FloatVector.fromMemorySegment(FS, s, at + vb, LE));
            a2 = a2.add(FloatVector.fromMemorySegment(FS, s, at + 2 * vb, LE));
            a3 = a3.add(FloatVector.fromMemorySegment(FS, s, at + 3 * vb, LE));
            a4 = a4.add(FloatVector.fromMemorySegment(FS, s, at + 4 * vb, LE));
            a5 = a5.add(FloatVector.fromMemorySegment(FS, s, at + 5 * vb, LE));
            a6 = a6.add(FloatVector.fromMemorySegment(FS, s, at + 6 * vb, LE));
            a7 = a7.add(FloatVector.fromMemorySegment(FS, s, at + 7 * vb, LE));
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).reduceLanes(
                jdk.incubator.vector.VectorOperators.ADD);
    }

    /** Twelve independent FMA chains: enough to cover FMA latency on two ports; all operands stay in registers. */
    private static float fmaLoop(long rounds, float seed) {
        FloatVector m = FloatVector.broadcast(FS, 0.999999f);
        FloatVector c = FloatVector.broadcast(FS, seed * 1e-6f);
        FloatVector a0 = FloatVector.broadcast(FS, seed), a1 = a0.add(1f), a2 = a0.add(2f), a3 = a0.add(3f);
        FloatVector a4 = a0.add(4f), a5 = a0.add(5f), a6 = a0.add(6f), a7 = a0.add(7f);
        FloatVector a8 = a0.add(8f), a9 = a0.add(9f), a10 = a0.add(10f), a11 = a0.add(11f);
        for (long r = 0; r < rounds; r++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    private static volatile float sink;

    private static void blackhole(float[] sinks) {
        float s = 0;
        for (float f : sinks) {
            s += f;
        }
        sink = s;
    }
}
