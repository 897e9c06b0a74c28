package dev.tandem.cli;

import dev.tandem.config.Args;
import dev.tandem.config.EngineConfig;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.sampling.Logprobs;
import dev.tandem.kvcache.PagedKvCache;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * {@code bench-engine --model DIR}: prefill tokens/s for one long prompt, decode tokens/s at several batch sizes, and
 * the memory-bandwidth floor for batch-1 decode (weight bytes read per step ÷ the copy bandwidth measured here).
 */
public final class BenchEngineCommand {
    private BenchEngineCommand() {
    }

    public static int run(String[] argv) {
        Args a = Args.parse(argv, Set.of());
        Path dir = Path.of(a.required("model"));
        int promptLen = a.integer("prompt-len", 512);
        int[] batches = a.has("batches") ? a.intList("batches") : new int[] {1, 8, 32};
        int steps = a.integer("steps", 32);
        EngineConfig engine = a.engine(0);
        a.rejectUnknown();

        try (ComputeBackend backend = ComputeBackends.create(engine.backend(), engine.threads());
             Model model = Model.load(dir, backend, msg -> System.err.println("[load] " + msg))) {
            int threads = engine.threads() > 0 ? engine.threads() : Runtime.getRuntime().availableProcessors();
            System.out.printf("model: %s, %d layers, hidden %d; backend: %s%n", dir, model.config().numLayers(),
                    model.config().hiddenSize(), ComputeBackends.describe(backend));
            int maxBatch = IntStream.of(batches).max().orElse(1);
            int context = Math.max(promptLen, DECODE_PROMPT + MAX_WARMUP + steps + 1) + 1;
            int poolTokens = Math.max(promptLen + 1, maxBatch * context) + 64;
            try (PagedKvCache kv = model.newKvCache(engine.pageSize(), poolTokens, Math.max(maxBatch, 1), context)) {
                prefill(model, kv, promptLen);
                double batch1 = 0;
                for (int b : batches) {
                    double tps = decode(model, kv, b, steps);
                    if (b == 1) {
                        batch1 = tps;
                    }
                    System.out.printf("decode batch %-3d: %8.1f tokens/s%s%n", b, tps,
                            batch1 > 0 && b > 1 ? String.format("  (%.1fx batch 1)", tps / batch1) : "");
                }
                long bytes = model.transformer().bytesReadPerStep();
                double bw = copyBandwidth(threads);
                double floorTps = bw / bytes;
                System.out.printf("weights read per decode step: %.1f MB; copy bandwidth (read+write, %d threads): "
                        + "%.2f GB/s%n", bytes / 1e6, threads, bw / 1e9);
                System.out.printf("batch-1 decode floor: %.1f tokens/s; measured batch 1 is %.0f%% of it%n", floorTps,
                        100 * batch1 / floorTps);
            }
        }
        return 0;
    }

    private static void prefill(Model model, PagedKvCache kv, int n) {
        int[] prompt = randomTokens(n, model.config().vocabSize(), 1);
        for (int warm = 0; warm < 2; warm++) {
            int row = kv.allocateRow();
            kv.ensureCapacity(row, n);
            long t0 = System.nanoTime();
            model.transformer().forward(List.of(SequenceChunk.lastLogits(row, 0, prompt)), kv);
            double s = (System.nanoTime() - t0) / 1e9;
            kv.release(row);
            if (warm == 1) {
                System.out.printf("prefill %d tokens : %8.1f tokens/s (%.0f ms)%n", n, n / s, s * 1e3);
            }
        }
    }

    private static final int DECODE_PROMPT = 16;
    private static final int MAX_WARMUP = 64;

    /**
     * Prefills {@code batch} short prompts, warms up (at least 8 steps and 3 s, at most {@value #MAX_WARMUP} steps:
     * small batches reach the optimizing JIT late), then times {@code steps} greedy decode steps of the whole batch.
     */
    private static double decode(Model model, PagedKvCache kv, int batch, int steps) {
        int[] rows = new int[batch];
        List<SequenceChunk> chunks = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            rows[i] = kv.allocateRow();
            kv.ensureCapacity(rows[i], DECODE_PROMPT + MAX_WARMUP + steps + 1);
            chunks.add(SequenceChunk.lastLogits(rows[i], 0, randomTokens(DECODE_PROMPT, model.config().vocabSize(), i)));
        }
        ForwardOutput out = model.transformer().forward(chunks, kv);
        int[] next = new int[batch];
        for (int i = 0; i < batch; i++) {
            next[i] = Logprobs.argmax(out.last(i));
        }
        int pos = DECODE_PROMPT;
        long warmStart = System.nanoTime();
        while (pos - DECODE_PROMPT < MAX_WARMUP
                && (pos - DECODE_PROMPT < 8 || System.nanoTime() - warmStart < 3_000_000_000L)) {
            step(model, kv, rows, next, pos++);
        }
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
            step(model, kv, rows, next, pos++);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        for (int r : rows) {
            kv.release(r);
        }
        return batch * steps / secs;
    }

    /** One greedy decode step of every row; {@code next} holds the tokens to feed and receives the next ones. */
    private static void step(Model model, PagedKvCache kv, int[] rows, int[] next, int pos) {
        List<SequenceChunk> step = new ArrayList<>(rows.length);
        for (int i = 0; i < rows.length; i++) {
            step.add(SequenceChunk.lastLogits(rows[i], pos, next[i]));
        }
        ForwardOutput out = model.transformer().forward(step, kv);
        for (int i = 0; i < rows.length; i++) {
            next[i] = Logprobs.argmax(out.last(i));
        }
    }

    private static int[] randomTokens(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return IntStream.range(0, n).map(i -> r.nextInt(vocab)).toArray();
    }

    /** Bytes moved per second (read + written) by a parallel copy of 512 MB, best of 5. */
    private static double copyBandwidth(int threads) {
        long size = 256L << 20;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = arena.allocate(size, 64);
            MemorySegment dst = arena.allocate(size, 64);
            src.fill((byte) 1);
            dst.fill((byte) 2);
            double best = 0;
            long part = size / threads;
            for (int rep = 0; rep < 5; rep++) {
                long t0 = System.nanoTime();
                IntStream.range(0, threads).parallel().forEach(t -> MemorySegment.copy(src, t * part, dst, t * part,
                        part));
                double s = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, 2.0 * size / s);
            }
            return best;
        }
    }
}
