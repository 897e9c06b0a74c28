package dev.tandem.cli;

import dev.tandem.config.Args;
import dev.tandem.config.EngineConfig;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.config.KvDtype;
import dev.tandem.engine.compute.Probes;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.model.Transformer;
import dev.tandem.kvcache.PagedKvCache;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Set;

/**
 * {@code bench-engine --model DIR}: prefill and decode speed, each line next to the limit it is bounded by, both
 * limits measured in the same run on the engine's own compute threads: batch-1 decode streams the weights, so it is
 * judged against a read-only reduction over {@code --probe-mb} (≥ 1 GB, far beyond any cache); prefill and batched
 * decode are judged against the FMA peak of a register-resident kernel. Every figure is the median of
 * {@code --runs} runs after a warm-up, with the spread shown: on a shared machine only same-run ratios mean much.
 */
public final class BenchEngineCommand {
    private static final int PROBE_RUNS = 5;

    private BenchEngineCommand() {
    }

    public static int run(String[] argv) {
        Args a = Args.parse(argv, Set.of());
        Path dir = Path.of(a.required("model"));
        int promptLen = a.integer("prompt-len", 512);
        int[] batches = a.has("batches") ? a.intList("batches") : new int[] {1, 8, 32};
        int steps = a.integer("steps", 128);
        int runs = a.integer("runs", 3);
        int probeMb = a.integer("probe-mb", 1024);
        EngineConfig engine = a.engine(0);
        a.rejectUnknown();
        if (probeMb < 1) {
            throw new IllegalArgumentException("--probe-mb must be at least 1, got " + probeMb);
        }

        try (ComputeBackend backend = ComputeBackends.create(engine.backend(), engine.threads(),
                engine.quantization());
             Model model = Model.load(dir, backend, msg -> System.err.println("[load] " + msg))) {
            EngineBench.Plan plan = EngineBench.plan(promptLen, batches, steps, runs, engine.pageSize(),
                    model.config().maxPositions());
            System.out.printf("model: %s, %d layers, hidden %d; backend: %s%n", dir, model.config().numLayers(),
                    model.config().hiddenSize(), ComputeBackends.describe(backend));
            double readBw = readFloor(backend, probeMb);
            double peak = fmaPeak(backend);
            System.out.printf("limits (same run, compute threads, median of %d): read %.2f GB/s (read-only reduction"
                    + " over %d MB); FMA peak %.1f GFLOP/s%n", PROBE_RUNS, readBw / 1e9, probeMb, peak / 1e9);
            Transformer tf = model.transformer();
            KvDtype kvDtype = engine.kvCacheDtype();
            System.out.printf("KV cache: %s (%d bytes per element)%n", kvDtype.label(), kvDtype.bytes());
            try (PagedKvCache kv = EngineBench.newCache(model, plan, kvDtype)) {
                double[] secs = EngineBench.prefill(model, kv, plan);
                double prefillFlops = 2.0 * (promptLen * (double) tf.linearMacsPerToken() + tf.lmHeadMacs());
                for (int p = 0; p < promptLen; p++) {
                    prefillFlops += 2.0 * tf.attentionMacs(p);
                }
                double[] tpsPrefill = new double[secs.length];
                for (int i = 0; i < secs.length; i++) {
                    tpsPrefill[i] = promptLen / secs[i];
                }
                double sPrefill = EngineBench.median(secs);
                System.out.printf("prefill %d tokens   : %8.1f tokens/s %s; %.1f GFLOP/s = %.0f%% of FMA peak%n",
                        promptLen, promptLen / sPrefill, spread(tpsPrefill), prefillFlops / sPrefill / 1e9,
                        100 * prefillFlops / sPrefill / peak);
                double batch1 = 0;
                for (int b : batches) {
                    double[] tps = EngineBench.decode(model, kv, plan, b);
                    double med = EngineBench.median(tps);
                    // Mean position over the timed steps, for the attention FLOPs and the K/V bytes they read.
                    int midPos = EngineBench.DECODE_PROMPT + EngineBench.WARMUP_STEPS + runs * plan.stepsFor(b) / 2;
                    String head = String.format("decode batch %-3d    : %8.1f tokens/s %s (%d steps x %d runs)", b,
                            med, spread(tps), plan.stepsFor(b), runs);
                    if (b == 1) {
                        batch1 = med;
                        long bytes = tf.bytesReadPerStep() + tf.kvBytesRead(midPos, kvDtype);
                        double floor = readBw / bytes;
                        System.out.printf("%s; %.0f%% of the read floor (%.1f tokens/s = %.2f GB/s / %.1f MB a step)%n",
                                head, 100 * med / floor, floor, readBw / 1e9, bytes / 1e6);
                    } else {
                        double flopsPerToken = 2.0 * (tf.linearMacsPerToken() + tf.lmHeadMacs() + tf.attentionMacs(midPos));
                        System.out.printf("%s; %.1f GFLOP/s = %.0f%% of FMA peak%s%n", head, med * flopsPerToken / 1e9,
                                100 * med * flopsPerToken / peak,
                                batch1 > 0 ? String.format("; %.1fx batch 1", med / batch1) : "");
                    }
                }
            }
        }
        return 0;
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

    /** Median bytes/s of read-only passes over {@code mb} MB of pre-touched native memory, after one warm pass. */
    static double readFloor(ComputeBackend backend, int mb) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = arena.allocate((long) mb << 20, 4096);
            for (long at = 0; at < data.byteSize(); at += 4) {
                data.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at, (at & 0xFFFF) * 1e-6f);
            }
            double[] bw = new double[PROBE_RUNS];
            Probes.readBytesPerSecond(backend, data);
            for (int i = 0; i < PROBE_RUNS; i++) {
                bw[i] = Probes.readBytesPerSecond(backend, data);
            }
            return EngineBench.median(bw);
        }
    }

    /** Median FLOP/s of the register-resident FMA kernel on every compute thread, after warm-up. */
    private static double fmaPeak(ComputeBackend backend) {
        for (int i = 0; i < 3; i++) {
            Probes.fmaFlopsPerSecond(backend, 2_000_000);
        }
        double[] f = new double[PROBE_RUNS];
        for (int i = 0; i < PROBE_RUNS; i++) {
            f[i] = Probes.fmaFlopsPerSecond(backend, 50_000_000);
        }
        return EngineBench.median(f);
    }
}
