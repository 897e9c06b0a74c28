package dev.tandem.bench;

import java.util.SplittableRandom;

/**
 * The requests of one run, fixed up front from the seed so two runs with the same flags send the same prompts at the
 * same offsets, and so no random draw or allocation happens on the sending path.
 *
 * @param inputIds     per request, the prompt ids (uniform in [1, 256): valid in any vocabulary, and 0 is often a
 *                     pad/unk id we do not want to lean on)
 * @param arrivalNanos per request, when to send it, in nanoseconds after the start; non-decreasing, the first is 0
 */
public record Workload(int[][] inputIds, long[] arrivalNanos) {
    static final int MIN_ID = 1;
    static final int MAX_ID_EXCLUSIVE = 256;

    /**
     * Draws all prompts first, then the inter-arrival gaps (exponential, mean 1/rate: a Poisson process, as SGLang's
     * {@code bench_serving}); with an infinite rate every arrival is 0.
     */
    public static Workload generate(int numPrompts, int inputLen, double requestRate, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[][] ids = new int[numPrompts][];
        for (int i = 0; i < numPrompts; i++) {
            ids[i] = randomIds(rng, inputLen);
        }
        return new Workload(ids, arrivals(rng, numPrompts, requestRate));
    }

    /**
     * SGLang's {@code generated-shared-prefix} dataset plus follow-up turns: {@code groups} system prompts of
     * {@code systemLen} ids, each shared by {@code perGroup} conversations. Turn 0 of a conversation is its system
     * prompt and a {@code questionLen}-id question; turn {@code t} repeats turn {@code t-1}'s prompt, a
     * {@code answerLen}-id stand-in for the answer, and a new question (the benchmark sends prompts fixed up front,
     * so the stand-in is not the model's actual answer: a follow-up shares its previous turn's prompt, not its output).
     * All turn-0 requests come first, groups interleaved at random, then all turn-1 requests, and so on; arrivals are
     * Poisson at {@code requestRate}.
     */
    public static Workload sharedPrefix(int groups, int perGroup, int systemLen, int questionLen, int answerLen,
                                        int turns, double requestRate, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[][] system = new int[groups][];
        for (int g = 0; g < groups; g++) {
            system[g] = randomIds(rng, systemLen);
        }
        int conversations = groups * perGroup;
        int[][] current = new int[conversations][];
        for (int c = 0; c < conversations; c++) {
            current[c] = system[c / perGroup];
        }
        java.util.List<int[]> prompts = new java.util.ArrayList<>();
        for (int t = 0; t < turns; t++) {
            int[] order = java.util.stream.IntStream.range(0, conversations).toArray();
            for (int i = conversations - 1; i > 0; i--) { // Fisher-Yates: groups interleave
                int j = rng.nextInt(i + 1);
                int x = order[i];
                order[i] = order[j];
                order[j] = x;
            }
            for (int c : order) {
                int[] prev = current[c];
                int[] answer = t == 0 ? new int[0] : randomIds(rng, answerLen);
                int[] question = randomIds(rng, questionLen);
                int[] next = java.util.Arrays.copyOf(prev, prev.length + answer.length + question.length);
                System.arraycopy(answer, 0, next, prev.length, answer.length);
                System.arraycopy(question, 0, next, prev.length + answer.length, question.length);
                current[c] = next;
                prompts.add(next);
            }
        }
        return new Workload(prompts.toArray(int[][]::new), arrivals(rng, prompts.size(), requestRate));
    }

    private static int[] randomIds(SplittableRandom rng, int n) {
        int[] ids = new int[n];
        for (int j = 0; j < n; j++) {
            ids[j] = rng.nextInt(MIN_ID, MAX_ID_EXCLUSIVE);
        }
        return ids;
    }

    private static long[] arrivals(SplittableRandom rng, int n, double requestRate) {
        long[] at = new long[n];
        if (!Double.isInfinite(requestRate)) {
            double t = 0;
            for (int i = 1; i < n; i++) {
                // 1 - u lies in (0, 1], so the log is finite.
                t += -Math.log(1.0 - rng.nextDouble()) / requestRate;
                at[i] = Math.round(t * 1e9);
            }
        }
        return at;
    }

    /** Prompt length of each request. */
    public int[] inputLens() {
        int[] out = new int[inputIds.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = inputIds[i].length;
        }
        return out;
    }

    public static Workload generate(BenchConfig c) {
        return generate(c.numPrompts(), c.inputLen(), c.requestRate(), c.seed());
    }

    public int size() {
        return inputIds.length;
    }
}
