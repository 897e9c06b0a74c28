package dev.tandem.cli;

import dev.tandem.config.Args;
import dev.tandem.config.EngineConfig;
import dev.tandem.config.SchedulerConfig;
import dev.tandem.engine.compute.ComputeBackend;
import dev.tandem.engine.compute.ComputeBackends;
import dev.tandem.engine.model.Model;
import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.grammar.GrammarSpec;
import dev.tandem.grammar.TokenGrammar;
import dev.tandem.grammar.Vocabulary;
import dev.tandem.kvcache.PagedKvCache;
import dev.tandem.scheduler.ColocatedScheduler;
import dev.tandem.scheduler.SchedulerObserver;
import dev.tandem.scheduler.SchedulerRequest;
import dev.tandem.scheduler.StopStrings;
import dev.tandem.tokenizer.TextTokenizer;
import dev.tandem.tokenizer.TokenBytes;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * {@code bench-grammar --model DIR}: the cost of structured outputs per decode step. For each batch size, the
 * median scheduler step (forward, masking, sampling) of requests under a JSON-shaped constraint against the same
 * requests unconstrained, in the same run, several runs each; the constrained/unconstrained ratio is the figure.
 * The constraint never completes and the bench's vocabulary lists no EOS, so every request runs every step.
 * Two constraints of the same shape: a regex (a DFA) and a recursive GBNF grammar (a pushdown automaton).
 * {@code --mask-only} measures only the masking (no model steps), DFA against PDA.
 */
public final class BenchGrammarCommand {
    /** JSON records one after another: a regex (never complete) so the batch stays whole for the whole run. */
    static final String CONSTRAINT = "\\[(\\{\"name\":\"[a-z ]{1,16}\",\"age\":[0-9]{1,3},\"tags\":\\[\"[a-z]{1,8}\""
            + "(,\"[a-z]{1,8}\"){0,3}\\]\\},)*";
    /**
     * The same shape as a recursive grammar (a pushdown automaton): records whose "kids" nest records to any depth;
     * the top level never completes either.
     */
    static final String RECURSIVE = """
            root ::= "[" (rec ",")*
            rec  ::= "{\\"name\\":\\"" [a-z ]{1,16} "\\",\\"age\\":" [0-9]{1,3} ",\\"kids\\":[" (rec ("," rec){0,3})? "]}"
            """;
    private static final int WARM = 2;

    private BenchGrammarCommand() {
    }

    public static int run(String[] argv) {
        Args a = Args.parse(argv, Set.of("mask-only"));
        Path dir = Path.of(a.required("model"));
        int[] batches = a.has("batches") ? a.intList("batches") : new int[] {1, 32};
        int steps = a.integer("steps", 16);
        int runs = a.integer("runs", 3);
        boolean maskOnly = a.flag("mask-only");
        EngineConfig engine = a.engine(0);
        a.rejectUnknown();
        try (ComputeBackend backend = ComputeBackends.create(engine.backend(), engine.threads());
             Model model = Model.load(dir, backend, msg -> System.err.println("[load] " + msg));
             TextTokenizer tok = TextTokenizer.load(dir)) {
            int vocab = model.config().vocabSize();
            Vocabulary v = new Vocabulary(vocab, TokenBytes.load(dir), List.of());
            List<TokenGrammar> grammars = new ArrayList<>();
            for (GrammarSpec spec : List.of(new GrammarSpec(GrammarSpec.Kind.REGEX, CONSTRAINT, "regex"),
                    new GrammarSpec(GrammarSpec.Kind.EBNF, RECURSIVE, "ebnf"))) {
                long c0 = System.nanoTime();
                TokenGrammar g = new TokenGrammar(spec, spec.compile(), v);
                grammars.add(g);
                System.out.printf("model: %s, vocab %d; backend: %s; %s constraint (%s): %d automaton states, compiled"
                        + " in %.1f ms%n", dir, vocab, ComputeBackends.describe(backend), spec.kind(),
                        g.dfa() != null ? "DFA" : "pushdown, " + g.pda().rules() + " rules",
                        g.automaton().states(), (System.nanoTime() - c0) / 1e6);
            }
            if (maskOnly) {
                maskOnlyComparison(grammars, vocab, batches, runs);
                coldMasks(grammars, v, vocab);
                return 0;
            }
            for (int b : batches) {
                for (TokenGrammar grammar : grammars) {
                    String kind = grammar.dfa() != null ? "DFA" : "PDA";
                    double[] plain = new double[runs];
                    double[] constrained = new double[runs];
                    medianStepMs(model, tok, engine, b, steps, null, runs); // warm-up (JIT), not counted
                    medianStepMs(model, tok, engine, b, steps, grammar, runs);
                    for (int r = 0; r < runs; r++) {
                        // Alternate which goes first, so drift on a shared machine does not favour one side.
                        if (r % 2 == 1) {
                            constrained[r] = medianStepMs(model, tok, engine, b, steps, grammar, r);
                        }
                        plain[r] = medianStepMs(model, tok, engine, b, steps, null, r);
                        if (r % 2 == 0) {
                            constrained[r] = medianStepMs(model, tok, engine, b, steps, grammar, r);
                        }
                    }
                    double p = median(plain);
                    double c = median(constrained);
                    System.out.printf("batch %-3d %s: step %.2f ms unconstrained, %.2f ms constrained: %.3fx (median of"
                            + " %d runs x %d steps; runs %s vs %s); masking alone %.3f ms per step (masks cached)%n",
                            b, kind, p, c, c / p, runs, steps, fmt(plain), fmt(constrained),
                            maskOnlyMs(grammar, vocab, b, 64));
                }
            }
            coldMasks(grammars, v, vocab);
        }
        return 0;
    }

    private static double medianStepMs(Model model, TextTokenizer tok, EngineConfig engine, int batch, int steps,
                                       TokenGrammar grammar, int seed) {
        int max = WARM + steps + 2;
        int context = 16 + max + 1;
        SchedulerConfig sc = new SchedulerConfig(batch, batch * (context + engine.pageSize()) + 64, -1, context, engine.pageSize(), false);
        try (PagedKvCache kv = model.newKvCache(engine.pageSize(), sc.maxTotalTokens(), batch, context, null,
                engine.kvCacheDtype())) {
            var s = new ColocatedScheduler(model.transformer(), kv, tok, model.config().eosTokenIds(), sc,
                    SchedulerObserver.NONE);
            SamplingParams params = new SamplingParams(max, 1f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), true, 0);
            dev.tandem.scheduler.FinishReason[] early = {null};
            for (int i = 0; i < batch; i++) {
                int[] prompt = new int[8];
                for (int k = 0; k < prompt.length; k++) {
                    prompt[k] = 1 + (int) ((seed * 7919L + i * 131L + k * 31L) % (model.config().vocabSize() - 1));
                }
                s.submit(new SchedulerRequest("r" + i, "r" + i, prompt, params.withSeed((long) seed * 1000 + i), false,
                        -1, 0, StopStrings.NONE, o -> {
                            if (o.finish() != null && o.completionTokens() < max) {
                                early[0] = o.finish(); // the batch shrank: the figures would not compare
                            }
                        }, null, grammar));
            }
            s.step(); // every prompt, one pass
            for (int i = 0; i < WARM; i++) {
                s.step();
            }
            double[] t = new double[steps];
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime();
                s.step();
                t[i] = (System.nanoTime() - t0) / 1e6;
            }
            if (early[0] != null || s.stats().running() != batch) {
                throw new IllegalStateException("a request finished early (" + early[0] + "): " + s.stats().running()
                        + " of " + batch + " running");
            }
            return median(t);
        }
    }

    /**
     * The grammar's own share of a step, without the model: {@code batch} matchers each copy a logits row (as the
     * token processor does), mask it and accept its argmax, per step; the median over {@code steps} steps, masks of
     * visited states cached as in serving.
     */
    static double maskOnlyMs(TokenGrammar grammar, int vocab, int batch, int steps) {
        return maskOnlyMs(grammar, vocab, batch, steps, false);
    }

    /** With {@code total}: the sum over the steps instead of the median (cold masks show there). */
    static double maskOnlyMs(TokenGrammar grammar, int vocab, int batch, int steps, boolean total) {
        var rnd = new java.util.SplittableRandom(1);
        float[][] rows = new float[batch][vocab];
        var matchers = new ArrayList<dev.tandem.grammar.GrammarMatcher>();
        for (int i = 0; i < batch; i++) {
            for (int v = 0; v < vocab; v++) {
                rows[i][v] = (float) rnd.nextDouble();
            }
            matchers.add(grammar.matcher());
        }
        double[] t = new double[steps];
        for (int k = 0; k < steps; k++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < batch; i++) {
                float[] l = rows[i].clone();
                matchers.get(i).mask(l);
                matchers.get(i).accept(dev.tandem.engine.sampling.Logprobs.argmax(l));
            }
            t[k] = (System.nanoTime() - t0) / 1e6;
            for (float[] r : rows) { // a different token next time
                r[rnd.nextInt(vocab)] += 0.5f;
            }
        }
        return total ? Arrays.stream(t).sum() : median(t);
    }

    /** How many masks each grammar computed, and the cost of a fresh copy's first 64 steps (first visits in them). */
    private static void coldMasks(List<TokenGrammar> grammars, Vocabulary v, int vocab) {
        for (TokenGrammar grammar : grammars) {
            double[] cold = new double[5];
            for (int r = 0; r < cold.length; r++) {
                cold[r] = maskOnlyMs(new TokenGrammar(grammar.spec(), grammar.spec().compile(), v), vocab, 1, 64, true);
            }
            System.out.printf("%s: token masks computed for %d %s; cold masking (a fresh grammar: its first 64"
                    + " steps in all, first visits included) %.3f ms at batch 1 (median of %s)%n",
                    grammar.dfa() != null ? "DFA" : "PDA", grammar.maskedStates(), grammar.dfa() != null ? "of "
                            + grammar.automaton().states() + " states" : "top frames", median(cold), fmt(cold));
        }
    }

    /**
     * {@code --mask-only}: the grammar's share of a step without the model, DFA against PDA, {@code runs} runs of 64
     * steps each per batch size, alternating which goes first; the median of the runs' medians.
     */
    private static void maskOnlyComparison(List<TokenGrammar> grammars, int vocab, int[] batches, int runs) {
        for (TokenGrammar g : grammars) {
            maskOnlyMs(g, vocab, 1, 64); // warm-up (JIT, first visits), not counted
        }
        for (int b : batches) {
            double[][] t = new double[grammars.size()][runs];
            for (int r = 0; r < runs; r++) {
                for (int k = 0; k < grammars.size(); k++) {
                    int g = r % 2 == 0 ? k : grammars.size() - 1 - k;
                    t[g][r] = maskOnlyMs(grammars.get(g), vocab, b, 64);
                }
            }
            double dfa = median(t[0]);
            double pda = median(t[1]);
            System.out.printf("batch %-3d masking alone: DFA %.3f ms, PDA %.3f ms per step: PDA/DFA %.2fx (median of %d"
                    + " runs x 64 steps; runs %s vs %s)%n", b, dfa, pda, pda / dfa, runs, fmt(t[0]), fmt(t[1]));
        }
    }

    private static double median(double[] x) {
        double[] c = x.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    private static String fmt(double[] x) {
        List<String> s = new ArrayList<>();
        for (double d : x) {
            s.add(String.format("%.2f", d));
        }
        return s.toString();
    }
}
