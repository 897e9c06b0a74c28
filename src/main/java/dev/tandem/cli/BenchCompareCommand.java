package dev.tandem.cli;

import dev.tandem.config.Args;
import dev.tandem.config.ConfigException;
import dev.tandem.config.EngineConfig;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.model.ForwardOutput;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.model.SequenceChunk;
import dev.tandem.engine.sampling.Logprobs;
import dev.tandem.kvcache.PagedKvCache;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * {@code bench-compare --model DIR --b FLAGS [--a FLAGS]}: how much faster engine set-up B decodes than set-up A
 * (say {@code --b quantization=int8} against BF16), measured so that the machine's drift cancels. Separate
 * {@code bench-engine} runs a minute apart gave int8/BF16 ratios of 1.43-1.74 on our shared VM; here both set-ups
 * are loaded in one JVM and timed in alternating runs of {@code --steps} steps ({@code --pairs} pairs, the order
 * within a pair alternating too), and the figure is the median of the per-pair ratios. A set-up loaded second ran
 * 2-10% faster than the same set-up loaded first (whichever it was; cause unknown), so the comparison is made twice,
 * once in each load order, and the two medians are combined by their geometric mean. Each row's prompt is
 * {@code --prompt-len} tokens (default 16) and decode cycles over the {@link #CYCLE} positions after it, so a long
 * prompt compares set-ups where attention over a long context weighs in ({@code --b kv-cache-dtype=bf16}).
 */
public final class BenchCompareCommand {
    /** Positions a row cycles through (rewritten round after round), so rows need no pages beyond them. */
    static final int CYCLE = 256;
    /** Greedy tokens of row 0 kept per arm (from its first step on), for checking what an arm computed. */
    static final int TOKENS_KEPT = 64;
    /** Tokens per forward pass of a row's prompt (one row at a time), so a long prompt needs no huge workspace. */
    static final int PREFILL_CHUNK = 512;

    /** Both rounds' medians of B/A per pair; {@code tokensA/B}: each arm's first greedy tokens (row 0), in order. */
    record Result(double loadedAFirst, double loadedBFirst, List<Integer> tokensA, List<Integer> tokensB) {
        double ratio() {
            return Math.sqrt(loadedAFirst * loadedBFirst);
        }
    }

    private BenchCompareCommand() {
    }

    public static int run(String[] argv) {
        Args a = Args.parse(argv, Set.of());
        Path dir = Path.of(a.required("model"));
        String specA = a.string("a", "quantization=none");
        String specB = a.required("b");
        int batch = a.integer("batch", 1);
        int pairs = a.integer("pairs", 30);
        int steps = a.integer("steps", 32);
        int promptLen = a.integer("prompt-len", EngineBench.DECODE_PROMPT);
        a.rejectUnknown();
        Result r = compare(dir, arm("a", specA), arm("b", specB), batch, pairs, steps, promptLen, System.out);
        System.out.printf("B (%s) / A (%s), decode batch %d at positions %d-%d: %.3fx (geometric mean of the two load"
                + " orders)%n", specB, specA, batch, promptLen, promptLen + CYCLE - 1, r.ratio());
        return 0;
    }

    /** {@code name=value[,name=value...]} of the engine flags ({@code quantization=int8,kv-cache-dtype=bf16}). */
    static EngineConfig arm(String flag, String spec) {
        List<String> argv = new ArrayList<>();
        for (String kv : spec.split(",")) {
            int eq = kv.indexOf('=');
            if (eq <= 0 || eq == kv.length() - 1) {
                throw new ConfigException("--" + flag + " takes name=value pairs of engine flags separated by commas"
                        + " (e.g. quantization=int8,kv-cache-dtype=bf16), got '" + spec + "'");
            }
            argv.add("--" + kv.substring(0, eq).trim());
            argv.add(kv.substring(eq + 1).trim());
        }
        Args parsed = Args.parse(argv.toArray(String[]::new), Set.of());
        EngineConfig engine = parsed.engine(0);
        parsed.rejectUnknown();
        return engine;
    }

    static Result compare(Path dir, EngineConfig a, EngineConfig b, int batch, int pairs, int steps, int promptLen,
                          java.io.PrintStream out) {
        if (batch < 1 || pairs < 1 || steps < 1 || promptLen < 1) {
            throw new ConfigException("--batch, --pairs, --steps and --prompt-len must be at least 1, got " + batch
                    + ", " + pairs + ", " + steps + " and " + promptLen);
        }
        List<Integer> tokensA = new ArrayList<>();
        List<Integer> tokensB = new ArrayList<>();
        double first;
        try (Arm armA = new Arm(dir, a, batch, promptLen, tokensA); Arm armB = new Arm(dir, b, batch, promptLen, tokensB)) {
            first = round(armA, armB, pairs, steps, "A loaded first", out);
        }
        double second;
        try (Arm armB = new Arm(dir, b, batch, promptLen, null); Arm armA = new Arm(dir, a, batch, promptLen, null)) {
            second = round(armA, armB, pairs, steps, "B loaded first", out);
        }
        return new Result(first, second, tokensA, tokensB);
    }

    /** Warms both arms up together, then times {@code pairs} pairs; returns the median of B/A over the pairs. */
    private static double round(Arm a, Arm b, int pairs, int steps, String label, java.io.PrintStream out) {
        EngineBench.warmUntilJitQuiet(4, i -> {
            a.run(steps);
            b.run(steps);
        });
        double[] ratio = new double[pairs];
        double[] rateA = new double[pairs];
        double[] rateB = new double[pairs];
        for (int i = 0; i < pairs; i++) {
            boolean aFirst = i % 2 == 0;
            double first = aFirst ? a.run(steps) : b.run(steps);
            double second = aFirst ? b.run(steps) : a.run(steps);
            rateA[i] = aFirst ? first : second;
            rateB[i] = aFirst ? second : first;
            ratio[i] = rateB[i] / rateA[i];
        }
        double[] sorted = ratio.clone();
        Arrays.sort(sorted);
        double median = EngineBench.median(ratio);
        out.printf("%s: A %.1f tokens/s, B %.1f tokens/s (medians of %d runs of %d steps); B/A per pair: median %.3f"
                        + " (quartiles %.3f-%.3f)%n", label, EngineBench.median(rateA), EngineBench.median(rateB),
                pairs, steps, median, sorted[pairs / 4], sorted[(3 * pairs) / 4]);
        return median;
    }

    /** One engine set-up: its backend, model and KV rows, decoding greedily over a fixed cycle of positions. */
    private static final class Arm implements AutoCloseable {
        private final ComputeBackend backend;
        private Model model;
        private PagedKvCache kv;
        private final int[] rows;
        private final int[] next;
        private final List<Integer> tokens; // null: not recorded
        private final int promptLen;
        private int step;

        Arm(Path dir, EngineConfig e, int batch, int promptLen, List<Integer> tokens) {
            this.backend = ComputeBackends.create(e.backend(), e.threads(), e.quantization());
            this.tokens = tokens;
            this.promptLen = promptLen;
            this.rows = new int[batch];
            this.next = new int[batch];
            Arrays.fill(rows, -1);
            try {
                int length = promptLen + CYCLE;
                int pagesPerRow = (length + e.pageSize() - 1) / e.pageSize();
                model = Model.load(dir, backend, msg -> { });
                if (length > model.config().maxPositions()) {
                    throw new ConfigException("--prompt-len " + promptLen + " leaves no room for the " + CYCLE
                            + " decode positions each row cycles over: the model has " + model.config().maxPositions());
                }
                kv = model.newKvCache(e.pageSize(), batch * pagesPerRow * e.pageSize(), batch, length, null,
                        e.kvCacheDtype());
                for (int i = 0; i < batch; i++) {
                    rows[i] = EngineBench.reserve(kv, length, "row " + i + " of " + batch);
                    next[i] = prefill(rows[i], EngineBench.randomTokens(promptLen, model.config().vocabSize(), i));
                }
            } catch (RuntimeException | Error ex) {
                close();
                throw ex;
            }
        }

        /** One row's prompt in chunks of {@link #PREFILL_CHUNK}, alone; returns its greedy next token. */
        private int prefill(int row, int[] prompt) {
            int first = -1;
            for (int from = 0; from < prompt.length; from += PREFILL_CHUNK) {
                int to = Math.min(prompt.length, from + PREFILL_CHUNK);
                int[] part = Arrays.copyOfRange(prompt, from, to);
                boolean last = to == prompt.length;
                ForwardOutput out = model.transformer().forward(
                        List.of(new SequenceChunk(row, from, part, last ? part.length - 1 : part.length)), kv);
                if (last) {
                    first = Logprobs.argmax(out.logits(), out.offset(0, 0), out.vocab());
                }
            }
            return first;
        }

        /** Tokens/s of {@code steps} decode steps of every row. */
        double run(int steps) {
            long t0 = System.nanoTime();
            for (int s = 0; s < steps; s++, step++) {
                EngineBench.step(model, kv, rows, next, promptLen + step % CYCLE);
                if (tokens != null && tokens.size() < TOKENS_KEPT) {
                    tokens.add(next[0]);
                }
            }
            return (double) rows.length * steps / ((System.nanoTime() - t0) / 1e9);
        }

        /** Frees what was made, also after a failed construction: rows, then the pool, the model, the backend. */
        @Override
        public void close() {
            if (kv != null) {
                for (int r : rows) {
                    if (r >= 0) {
                        kv.release(r);
                    }
                }
                kv.close();
            }
            if (model != null) {
                model.close();
            }
            backend.close();
        }
    }
}
