package dev.tandem.cli;

import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.Probes;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The two limits {@code bench-engine} judges its figures against, probed on the engine's own compute threads: the
 * read floor (a read-only reduction over {@code probeMb} MB of pre-touched native memory, far beyond any cache) and
 * the FMA peak (a register-resident kernel). Probed once at start and again <em>around each timed run</em>: on a
 * shared VM the read probe was seen to move from 31 to 71 GB/s within an hour and by 2× within a minute, so a limit
 * read minutes before a run says little about the run. Owns the probe memory; {@link #close()} frees it.
 */
final class BenchLimits implements AutoCloseable {
    /** Passes per full reading (start of the bench), and per bracket around a timed run. */
    static final int FULL_RUNS = 5;
    static final int BRACKET_RUNS = 3;
    private static final long FULL_FMAS = 50_000_000;
    private static final long BRACKET_FMAS = 20_000_000;

    /** One reading of both limits: bytes/s of the read probe and FLOP/s of the FMA probe, each a median. */
    record Reading(double readBytesPerSecond, double flopsPerSecond) {
        /**
         * The limit over a run bracketed by this reading and {@code after}: the higher of the two, so a probe that
         * caught a dip (seen: a bracket reading 11 GB/s between runs at 50) cannot make a run look faster than its
         * limit; a dip during the run itself still shows, as a lower fraction.
         */
        Reading across(Reading after) {
            return new Reading(Math.max(readBytesPerSecond, after.readBytesPerSecond),
                    Math.max(flopsPerSecond, after.flopsPerSecond));
        }
    }

    private final ComputeBackend backend;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment data;
    private final int probeMb;

    /** Allocates and touches the probe memory, then warms both probes up (their first passes run interpreted). */
    BenchLimits(ComputeBackend backend, int probeMb) {
        if (probeMb < 1) {
            throw new IllegalArgumentException("--probe-mb must be at least 1, got " + probeMb);
        }
        this.backend = backend;
        this.probeMb = probeMb;
        this.data = arena.allocate((long) probeMb << 20, 4096);
        for (long at = 0; at < data.byteSize(); at += 4) {
            data.set(ValueLayout.JAVA_FLOAT_UNALIGNED, at, (at & 0xFFFF) * 1e-6f);
        }
        Probes.readBytesPerSecond(backend, data);
        for (int i = 0; i < 3; i++) {
            Probes.fmaFlopsPerSecond(backend, 2_000_000);
        }
    }

    int probeMb() {
        return probeMb;
    }

    /** The start-of-run reading: medians of {@link #FULL_RUNS} passes each. */
    Reading full() {
        return read(FULL_RUNS, FULL_FMAS);
    }

    /** A shorter reading taken between timed runs (a few tenths of a second). */
    Reading bracket() {
        return read(BRACKET_RUNS, BRACKET_FMAS);
    }

    private Reading read(int runs, long fmas) {
        double[] bw = new double[runs];
        double[] flops = new double[runs];
        for (int i = 0; i < runs; i++) {
            bw[i] = Probes.readBytesPerSecond(backend, data);
            flops[i] = Probes.fmaFlopsPerSecond(backend, fmas);
        }
        return new Reading(EngineBench.median(bw), EngineBench.median(flops));
    }

    /**
     * Per timed run {@code i}, its rate over the limit across it ({@code limits[i]} before, {@code limits[i+1]}
     * after), as chosen by {@code limit}; the median of these is the line's figure.
     */
    static double[] fractions(double[] rates, Reading[] around, java.util.function.ToDoubleFunction<Reading> limit) {
        if (around.length != rates.length + 1) {
            throw new IllegalArgumentException(rates.length + " runs need " + (rates.length + 1) + " readings around"
                    + " them, got " + around.length);
        }
        double[] f = new double[rates.length];
        for (int i = 0; i < rates.length; i++) {
            f[i] = rates[i] / limit.applyAsDouble(around[i].across(around[i + 1]));
        }
        return f;
    }

    @Override
    public void close() {
        arena.close();
    }
}
