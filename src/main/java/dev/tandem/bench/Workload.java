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
        int[][] ids = new int[numPrompts][inputLen];
        for (int[] prompt : ids) {
            for (int j = 0; j < inputLen; j++) {
                prompt[j] = rng.nextInt(MIN_ID, MAX_ID_EXCLUSIVE);
            }
        }
        long[] at = new long[numPrompts];
        if (!Double.isInfinite(requestRate)) {
            double t = 0;
            for (int i = 1; i < numPrompts; i++) {
                // 1 - u lies in (0, 1], so the log is finite.
                t += -Math.log(1.0 - rng.nextDouble()) / requestRate;
                at[i] = Math.round(t * 1e9);
            }
        }
        return new Workload(ids, at);
    }

    public static Workload generate(BenchConfig c) {
        return generate(c.numPrompts(), c.inputLen(), c.requestRate(), c.seed());
    }

    public int size() {
        return inputIds.length;
    }
}
