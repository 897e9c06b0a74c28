package dev.tandem.cli;

import dev.tandem.config.Args;
import dev.tandem.config.EngineConfig;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.config.KvDtype;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.model.PhaseClock;
import dev.tandem.engine.model.Transformer;
import dev.tandem.kvcache.PagedKvCache;

import java.nio.file.Path;
import java.util.Set;

/**
 * {@code bench-engine --model DIR}: prefill and decode speed, each line next to the limit it is bounded by, both
 * limits measured in the same run on the engine's own compute threads: batch-1 decode streams the weights, so it is
 * judged against a read-only reduction over {@code --probe-mb} (≥ 1 GB, far beyond any cache); prefill and batched
 * decode are judged against the FMA peak of a register-resident kernel. Both are probed again just before and after
 * every timed run ({@link BenchLimits}), and each line's percentage is the median over its runs of the run's rate
 * against the higher of the two readings around it. Every figure is the median of {@code --runs} runs after a
 * warm-up, with the spread shown: on a shared machine only same-run ratios mean much. {@code --phases} adds, under
 * each line, the share of its timed runs each phase of the forward pass took ({@link PhaseClock}).
 */
public final class BenchEngineCommand {
    private BenchEngineCommand() {
    }

    public static int run(String[] argv) {
        Args a = Args.parse(argv, Set.of("phases"));
        Path dir = Path.of(a.required("model"));
        int promptLen = a.integer("prompt-len", 512);
        int[] batches = a.has("batches") ? a.intList("batches") : new int[] {1, 8, 32};
        int steps = a.integer("steps", 128);
        int runs = a.integer("runs", 5);
        int probeMb = a.integer("probe-mb", 1024);
        boolean phases = a.flag("phases");
        EngineConfig engine = a.engine(0);
        a.rejectUnknown();

        try (ComputeBackend backend = ComputeBackends.create(engine.backend(), engine.threads(),
                engine.quantization());
             Model model = Model.load(dir, backend, msg -> System.err.println("[load] " + msg));
             BenchLimits limits = new BenchLimits(backend, probeMb)) {
            EngineBench.Plan plan = EngineBench.plan(promptLen, batches, steps, runs, engine.pageSize(),
                    model.config().maxPositions());
            System.out.printf("model: %s, %d layers, hidden %d; backend: %s%n", dir, model.config().numLayers(),
                    model.config().hiddenSize(), ComputeBackends.describe(backend));
            BenchLimits.Reading start = limits.full();
            System.out.printf("limits at start (compute threads, median of %d): read %.2f GB/s (read-only reduction"
                    + " over %d MB); FMA peak %.1f GFLOP/s%n", BenchLimits.FULL_RUNS, start.readBytesPerSecond() / 1e9,
                    probeMb, start.flopsPerSecond() / 1e9);
            System.out.printf("each line's %% is the median over its runs of the run's rate against the higher of the"
                    + " limits probed just before and just after it (median of %d passes each)%n",
                    BenchLimits.BRACKET_RUNS);
            Transformer tf = model.transformer();
            KvDtype kvDtype = engine.kvCacheDtype();
            System.out.printf("KV cache: %s (%d bytes per element)%n", kvDtype.label(), kvDtype.bytes());
            BenchLimits.Reading[] around = new BenchLimits.Reading[runs + 1];
            // The probes run between the timed runs; with --phases the clock counts the timed runs only.
            PhaseTiming timing = new PhaseTiming(tf.phaseClock(), phases, runs);
            java.util.function.IntConsumer probe = i -> {
                timing.between(i);
                around[i] = limits.bracket();
            };
            try (PagedKvCache kv = EngineBench.newCache(model, plan, kvDtype)) {
                double[] secs = EngineBench.prefill(model, kv, plan, probe);
                double prefillFlops = 2.0 * (promptLen * (double) tf.linearMacsPerToken() + tf.lmHeadMacs());
                for (int p = 0; p < promptLen; p++) {
                    prefillFlops += 2.0 * tf.attentionMacs(p);
                }
                double[] tpsPrefill = new double[secs.length];
                double[] flopsPrefill = new double[secs.length];
                for (int i = 0; i < secs.length; i++) {
                    tpsPrefill[i] = promptLen / secs[i];
                    flopsPrefill[i] = prefillFlops / secs[i];
                }
                System.out.printf("prefill %d tokens   : %8.1f tokens/s %s; %.1f GFLOP/s; %s%n", promptLen,
                        EngineBench.median(tpsPrefill), spread(tpsPrefill), EngineBench.median(flopsPrefill) / 1e9,
                        ofPeak(flopsPrefill, around));
                timing.print(secs);
                double batch1 = 0;
                for (int b : batches) {
                    double[] tps = EngineBench.decode(model, kv, plan, b, probe);
                    double med = EngineBench.median(tps);
                    double[] runSecs = new double[tps.length];
                    for (int i = 0; i < tps.length; i++) {
                        runSecs[i] = (double) b * plan.stepsFor(b) / tps[i];
                    }
                    // Mean position over the timed steps, for the attention FLOPs and the K/V bytes they read.
                    int midPos = EngineBench.DECODE_PROMPT + EngineBench.WARMUP_STEPS + runs * plan.stepsFor(b) / 2;
                    String head = String.format("decode batch %-3d    : %8.1f tokens/s %s (%d steps x %d runs)", b,
                            med, spread(tps), plan.stepsFor(b), runs);
                    if (b == 1) {
                        batch1 = med;
                        long bytes = tf.bytesReadPerStep() + tf.kvBytesRead(midPos, kvDtype);
                        double[] bps = new double[tps.length];
                        for (int i = 0; i < tps.length; i++) {
                            bps[i] = tps[i] * bytes;
                        }
                        double[] f = BenchLimits.fractions(bps, around, BenchLimits.Reading::readBytesPerSecond);
                        System.out.printf("%s; %.0f%% of the read floor %s (%.1f MB a step; floor around the runs"
                                + " %s GB/s)%n", head, 100 * EngineBench.median(f), percents(f), bytes / 1e6,
                                range(around, r -> r.readBytesPerSecond() / 1e9));
                    } else {
                        double flopsPerToken = 2.0 * (tf.linearMacsPerToken() + tf.lmHeadMacs() + tf.attentionMacs(midPos));
                        double[] flops = new double[tps.length];
                        for (int i = 0; i < tps.length; i++) {
                            flops[i] = tps[i] * flopsPerToken;
                        }
                        System.out.printf("%s; %.1f GFLOP/s; %s%s%n", head, med * flopsPerToken / 1e9,
                                ofPeak(flops, around),
                                batch1 > 0 ? String.format("; %.1fx batch 1", med / batch1) : "");
                    }
                    timing.print(runSecs);
                }
            }
        }
        return 0;
    }

    /** {@code --phases}: counts a line's timed runs on the transformer's {@link PhaseClock} and prints the shares. */
    private record PhaseTiming(PhaseClock clock, boolean on, int runs) {
        /** Called before timed run 0 ({@code i == 0}) and after each run {@code i - 1}. */
        void between(int i) {
            if (on) {
                if (i == 0) {
                    clock.reset();
                }
                clock.counting(i < runs);
            }
        }

        void print(double[] runSecs) {
            if (on) {
                double secs = 0;
                for (double s : runSecs) {
                    secs += s;
                }
                System.out.printf("  phases over the timed runs: %s%n", clock.breakdown((long) (secs * 1e9)));
            }
        }
    }

    private static String ofPeak(double[] flops, BenchLimits.Reading[] around) {
        double[] f = BenchLimits.fractions(flops, around, BenchLimits.Reading::flopsPerSecond);
        return String.format("%.0f%% of FMA peak %s (peak around the runs %s GFLOP/s)", 100 * EngineBench.median(f),
                percents(f), range(around, r -> r.flopsPerSecond() / 1e9));
    }

    /** "(runs 51-55%)": the spread of the per-run fractions. */
    private static String percents(double[] f) {
        double[] p = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            p[i] = 100 * f[i];
        }
        return spread(p).replace(")", "%)");
    }

    private static String range(BenchLimits.Reading[] around, java.util.function.ToDoubleFunction<BenchLimits.Reading> v) {
        double lo = Double.MAX_VALUE;
        double hi = 0;
        for (BenchLimits.Reading r : around) {
            lo = Math.min(lo, v.applyAsDouble(r));
            hi = Math.max(hi, v.applyAsDouble(r));
        }
        return String.format("%.1f-%.1f", lo, hi);
    }

    /** "(min–max)" of the runs, so a reader sees how much the median can be trusted. */
    static String spread(double[] v) {
        double lo = Double.MAX_VALUE;
        double hi = 0;
        for (double x : v) {
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
        }
        return String.format("(runs %.1f-%.1f)", lo, hi);
    }
}
