package dev.tandem.cli;

import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;
import com.github.tjake.jlama.util.PhysicalCoreExecutor;
import dev.tandem.config.Args;
import dev.tandem.config.EngineConfig;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.compute.VectorBackend;
import dev.tandem.engine.model.Model;
import dev.tandem.kvcache.PagedKvCache;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * {@code ./run.sh bench-jlama}: batch-1 greedy decode of Tandem beside Jlama (test-scope dependency, an independent
 * Java Llama) on the same weights, same protocol — a {@link EngineBench#DECODE_PROMPT}-token prompt, the same
 * warm-up, {@code --runs} timed stretches of {@code --steps} tokens, the median — with the read floor probed in the
 * same run on Tandem's compute threads and Jlama given as many threads. Jlama keeps the checkpoint's weight type
 * (no conversion to F32) and computes in F32 activations, as Tandem does.
 *
 * <p>A benchmark, not a test: it lives in test sources only because Jlama is a test-scope dependency.
 */
public final class JlamaComparison {
    private JlamaComparison() {
    }

    public static void main(String[] argv) {
        Args a = Args.parse(argv, Set.of());
        Path dir = Path.of(a.required("model"));
        int steps = a.integer("steps", 128);
        int runs = a.integer("runs", 3);
        int probeMb = a.integer("probe-mb", 1024);
        EngineConfig engine = a.engine(0);
        a.rejectUnknown();

        double tandem;
        double floor;
        int threads;
        try (ComputeBackend backend = ComputeBackends.create(engine.backend(), engine.threads(),
                engine.quantization());
             Model model = Model.load(dir, backend, msg -> { })) {
            threads = backend instanceof VectorBackend v ? v.threads() : 1;
            EngineBench.Plan plan = EngineBench.plan(EngineBench.DECODE_PROMPT, new int[] {1}, steps, runs,
                    engine.pageSize(), model.config().maxPositions());
            double readBw;
            try (BenchLimits limits = new BenchLimits(backend, probeMb)) {
                readBw = limits.full().readBytesPerSecond();
            }
            int midPos = EngineBench.DECODE_PROMPT + EngineBench.WARMUP_STEPS + runs * steps / 2;
            long bytes = model.transformer().bytesReadPerStep() + model.transformer().kvBytesRead(midPos);
            floor = readBw / bytes;
            try (PagedKvCache kv = EngineBench.newCache(model, plan)) {
                double[] tps = EngineBench.decode(model, kv, plan, 1);
                tandem = EngineBench.median(tps);
                System.out.printf("read floor         : %.1f tokens/s (%.2f GB/s read-only over %d MB / %.1f MB a step)%n",
                        floor, readBw / 1e9, probeMb, bytes / 1e6);
                System.out.printf("tandem batch 1     : %8.1f tokens/s %s, %d threads (%s); %.0f%% of the read floor%n",
                        tandem, BenchEngineCommand.spread(tps), threads, ComputeBackends.describe(backend), 100 * tandem / floor);
            }
        }

        PhysicalCoreExecutor.overrideThreadCount(threads);
        AbstractModel jlama = ModelSupport.loadModel(dir.toFile(), null, DType.F32, DType.F32, Optional.empty(),
                Optional.empty());
        try {
            double[] tps = jlamaDecode(jlama, steps, runs);
            double med = EngineBench.median(tps);
            System.out.printf("jlama batch 1      : %8.1f tokens/s %s, %d threads (F32 activations, weights as "
                    + "stored); %.0f%% of the read floor%n", med, BenchEngineCommand.spread(tps), threads, 100 * med / floor);
            System.out.printf("tandem / jlama     : %.2fx%n", tandem / med);
        } finally {
            jlama.close();
        }
    }

    /** Jlama's greedy decode: the same prompt length and warm-up as {@link EngineBench#decode}, tokens/s per run. */
    private static double[] jlamaDecode(AbstractModel jlama, int steps, int runs) {
        int vocab = jlama.getConfig().vocabularySize;
        int[] prompt = EngineBench.randomTokens(EngineBench.DECODE_PROMPT, vocab, 0);
        double[] tps = new double[runs];
        try (KvBufferCache cache = new KvBufferCache(jlama); KvBufferCache.KvBuffer kv = cache.getEphemeralKvBuffer();
             AbstractTensor logits = jlama.makeDenseTensor(1, vocab)) {
            AbstractTensor all = jlama.batchForward(prompt, 0, kv);
            AbstractTensor hidden = all.slice(all.shape().first() - 1);
            int pos = prompt.length;
            for (int run = -1; run < runs; run++) {
                int n = run < 0 ? EngineBench.WARMUP_STEPS : steps;
                long t0 = System.nanoTime();
                for (int s = 0; s < n; s++) {
                    int next = jlama.sample(hidden, 0f, 0f, logits); // temperature 0: argmax
                    hidden.close();
                    hidden = jlama.forward(next, pos++, kv, Optional.empty());
                }
                if (run >= 0) {
                    tps[run] = n / ((System.nanoTime() - t0) / 1e9);
                }
            }
            hidden.close();
            all.close();
        }
        return tps;
    }
}
