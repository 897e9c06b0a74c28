package dev.tandem.cli;

import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.sampling.Logprobs;
import dev.tandem.kvcache.PagedKvCache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * The engine measurements behind {@code bench-engine}: a prefill of one prompt and greedy decode of whole batches,
 * each timed over several runs after a warm-up. {@link #plan} sizes the KV pool from the page size and every row's
 * longest position, so any argument combination fits; a row that still cannot get its pages is a clear error.
 */
final class EngineBench {
    static final int DECODE_PROMPT = 16;
    /** Decode positions the warm-up cycles over (rewritten round after round) until the JIT is quiet. */
    static final int WARMUP_STEPS = 32;
    /** The warm-up ends once the JIT has compiled nothing for this long (its threads share our two cores)... */
    static final long JIT_QUIET_NANOS = 1_000_000_000L;
    /** ...or after this long, whatever the JIT does. */
    static final long MAX_WARMUP_NANOS = 30_000_000_000L;
    static final int MIN_BATCH_STEPS = 16;

    private EngineBench() {
    }

    /**
     * What a bench run needs.
     *
     * @param steps timed decode steps per run at batch 1; larger batches time {@link #stepsFor} steps
     * @param pages KV pages: the larger of the prefill row and {@code batch} decode rows of the largest plan
     */
    record Plan(int promptLen, int[] batches, int steps, int runs, int pageSize, int context, int pages) {
        int stepsFor(int batch) {
            return batch <= 1 ? steps : Math.max(MIN_BATCH_STEPS, steps / batch);
        }

        /** Positions one decode row of {@code batch} reaches: prompt, warm-up, every timed step, plus one. */
        int decodeLength(int batch) {
            return DECODE_PROMPT + WARMUP_STEPS + runs * stepsFor(batch) + 1;
        }

        int maxBatch() {
            return IntStream.of(batches).max().orElse(1);
        }
    }

    static Plan plan(int promptLen, int[] batches, int steps, int runs, int pageSize, int maxPositions) {
        if (promptLen < 1) {
            throw new IllegalArgumentException("--prompt-len must be at least 1, got " + promptLen);
        }
        if (steps < 1 || runs < 1) {
            throw new IllegalArgumentException("--steps and --runs must be at least 1, got " + steps + " and " + runs);
        }
        if (batches.length == 0 || IntStream.of(batches).anyMatch(b -> b < 1)) {
            throw new IllegalArgumentException("--batches must list sizes of at least 1, got " + Arrays.toString(batches));
        }
        Plan p = new Plan(promptLen, batches.clone(), steps, runs, pageSize, 0, 0);
        int context = promptLen;
        long pages = pagesFor(promptLen, pageSize); // the prefill row runs alone
        for (int b : batches) {
            int len = p.decodeLength(b);
            context = Math.max(context, len);
            pages = Math.max(pages, (long) b * pagesFor(len, pageSize)); // each row rounds up to whole pages
        }
        if (context > maxPositions) {
            throw new IllegalArgumentException("--prompt-len " + promptLen + ", --steps " + steps + " and --runs "
                    + runs + " need " + context + " positions; the model has " + maxPositions);
        }
        return new Plan(promptLen, p.batches(), steps, runs, pageSize, context, Math.toIntExact(pages));
    }

    private static int pagesFor(int tokens, int pageSize) {
        return (tokens + pageSize - 1) / pageSize;
    }

    static PagedKvCache newCache(Model model, Plan p) {
        return newCache(model, p, dev.tandem.config.KvDtype.FLOAT32);
    }

    /** As above, K/V stored as {@code dtype}. */
    static PagedKvCache newCache(Model model, Plan p, dev.tandem.config.KvDtype dtype) {
        return model.newKvCache(p.pageSize(), p.pages() * p.pageSize(), p.maxBatch(), p.context(), null, dtype);
    }

    /**
     * Runs {@code pass} (given its index) at least {@code minPasses} times and then until the JIT has compiled
     * nothing for {@link #JIT_QUIET_NANOS}, at most {@link #MAX_WARMUP_NANOS}: a fixed count of warm-up passes left
     * the first timed run up to a third slower while C2 still compiled the large kernels on one of the two cores.
     */
    static int warmUntilJitQuiet(int minPasses, java.util.function.IntConsumer pass) {
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
        long start = System.nanoTime();
        long lastCompile = start;
        long compiled = timed ? jit.getTotalCompilationTime() : 0;
        int n = 0;
        while (true) {
            pass.accept(n++);
            long now = System.nanoTime();
            long c = timed ? jit.getTotalCompilationTime() : 0;
            if (c != compiled) {
                compiled = c;
                lastCompile = now;
            }
            if (n >= minPasses && (now - lastCompile >= JIT_QUIET_NANOS || now - start >= MAX_WARMUP_NANOS)) {
                return n;
            }
        }
    }

    /** Tokens of untimed prefill before the timed runs: at least one run, more for short prompts. */
    static final int PREFILL_WARMUP_TOKENS = 2048;

    /**
     * Seconds of each timed prefill of {@code promptLen} tokens, after untimed ones that together cover at least
     * {@link #PREFILL_WARMUP_TOKENS} and last until the JIT is quiet (a single untimed 8-token prefill left the
     * multi-token kernels interpreted: the timed runs of one invocation spread from 63 to 644 tokens/s).
     */
    static double[] prefill(Model model, PagedKvCache kv, Plan p) {
        return prefill(model, kv, p, boundary -> { });
    }

    /** As above; {@code between} runs untimed before timed run 0 (given 0) and after each run {@code r} (given r+1). */
    static double[] prefill(Model model, PagedKvCache kv, Plan p, IntConsumer between) {
        int[] prompt = randomTokens(p.promptLen(), model.config().vocabSize(), 1);
        double[] secs = new double[p.runs()];
        int warmRuns = Math.max(1, (PREFILL_WARMUP_TOKENS + p.promptLen() - 1) / p.promptLen());
        warmUntilJitQuiet(warmRuns, i -> {
            int row = reserve(kv, p.promptLen(), "the prefill row");
            try {
                model.transformer().forward(List.of(SequenceChunk.lastLogits(row, 0, prompt)), kv);
            } finally {
                kv.release(row);
            }
        });
        between.accept(0);
        for (int run = 0; run < p.runs(); run++) {
            int row = reserve(kv, p.promptLen(), "the prefill row");
            try {
                long t0 = System.nanoTime();
                model.transformer().forward(List.of(SequenceChunk.lastLogits(row, 0, prompt)), kv);
                secs[run] = (System.nanoTime() - t0) / 1e9;
            } finally {
                kv.release(row);
            }
            between.accept(run + 1);
        }
        return secs;
    }

    /**
     * Greedy decode of {@code batch} rows: short prompts, a warm-up, then {@code runs} timed stretches of
     * {@link Plan#stepsFor} steps. Returns tokens/s of each stretch.
     */
    static double[] decode(Model model, PagedKvCache kv, Plan p, int batch) {
        return decode(model, kv, p, batch, boundary -> { });
    }

    /** As above; {@code between} runs untimed before timed run 0 (given 0) and after each run {@code r} (given r+1). */
    static double[] decode(Model model, PagedKvCache kv, Plan p, int batch, IntConsumer between) {
        int[] rows = new int[batch];
        Arrays.fill(rows, -1);
        try {
            List<SequenceChunk> chunks = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                rows[i] = reserve(kv, p.decodeLength(batch), "decode row " + i + " of batch " + batch);
                chunks.add(SequenceChunk.lastLogits(rows[i], 0,
                        randomTokens(DECODE_PROMPT, model.config().vocabSize(), i)));
            }
            int[] next = new int[batch];
            pick(model.transformer().forward(chunks, kv), next);
            // Positions DECODE_PROMPT .. + WARMUP_STEPS, again and again: every one is written in the first round.
            warmUntilJitQuiet(WARMUP_STEPS, i -> step(model, kv, rows, next, DECODE_PROMPT + i % WARMUP_STEPS));
            int pos = DECODE_PROMPT + WARMUP_STEPS;
            int steps = p.stepsFor(batch);
            double[] tps = new double[p.runs()];
            between.accept(0);
            for (int run = 0; run < p.runs(); run++) {
                long t0 = System.nanoTime();
                for (int s = 0; s < steps; s++) {
                    step(model, kv, rows, next, pos++);
                }
                tps[run] = (double) batch * steps / ((System.nanoTime() - t0) / 1e9);
                between.accept(run + 1);
            }
            return tps;
        } finally {
            for (int r : rows) {
                if (r >= 0) {
                    kv.release(r);
                }
            }
        }
    }

    /** A row with pages for {@code length} positions, or a clear error naming what did not fit. */
    static int reserve(PagedKvCache kv, int length, String what) {
        int row = kv.allocateRow();
        if (row < 0) {
            throw new IllegalStateException("bench-engine: no free KV table row for " + what);
        }
        if (!kv.ensureCapacity(row, length)) {
            int free = kv.allocator().freePages();
            kv.release(row);
            throw new IllegalStateException("bench-engine: the KV pool cannot hold " + what + ": " + length
                    + " positions need " + kv.pagesFor(length) + " pages, " + free + " of "
                    + kv.allocator().totalPages() + " are free");
        }
        return row;
    }

    /** One greedy decode step of every row; {@code next} holds the tokens to feed and receives the next ones. */
    static void step(Model model, PagedKvCache kv, int[] rows, int[] next, int pos) {
        List<SequenceChunk> step = new ArrayList<>(rows.length);
        for (int i = 0; i < rows.length; i++) {
            step.add(SequenceChunk.lastLogits(rows[i], pos, next[i]));
        }
        pick(model.transformer().forward(step, kv), next);
    }

    static void pick(ForwardOutput out, int[] next) {
        for (int i = 0; i < next.length; i++) {
            next[i] = Logprobs.argmax(out.logits(), out.offset(i, 0), out.vocab());
        }
    }

    static int[] randomTokens(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return IntStream.range(0, n).map(i -> r.nextInt(vocab)).toArray();
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
