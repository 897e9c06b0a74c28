package dev.tandem.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    private static final float[] LOGITS = {1.0f, 3.0f, 2.5f, -1.0f, 0.5f, 2.9f};

    private static SamplingParams params(float temperature, float topP, int topK, float minP, Long seed) {
        return new SamplingParams(16, temperature, topP, topK, minP, 0f, 0f, 1f, seed, List.of(), false, 0);
    }

    @Test
    void greedyTakesTheArgmaxWithItsLogSoftmax() {
        Sampled s = new Sampler(SamplingParams.greedy(4), List.of()).sample(LOGITS, 3);
        assertEquals(1, s.tokenId());
        double z = 0;
        for (float l : LOGITS) {
            z += Math.exp(l);
        }
        assertEquals(3.0 - Math.log(z), s.logprob(), 1e-6);
        assertEquals(List.of(1, 5, 2), s.top().stream().map(TokenLogprob::tokenId).toList());
        assertEquals(s.logprob(), s.top().get(0).logprob());
    }

    /**
     * A greedy pick leaves its logprob to {@code lastLogprob()} (a request without logprobs never pays the log-sum-exp
     * over the vocabulary): asked right after the pick, it is the same bits {@code sample} reports, for rows read in
     * place at an offset and for a row a repetition penalty rewrote into scratch.
     */
    @Test
    void aGreedyPicksLogprobIsComputedWhenAskedWithTheBitsSampleReports() {
        float[] rows = new float[12]; // two rows of six
        for (int i = 0; i < 6; i++) {
            rows[i] = LOGITS[i];
            rows[6 + i] = LOGITS[5 - i];
        }
        for (float penalty : new float[] {1f, 1.3f}) {
            SamplingParams p = new SamplingParams(16, 0f, 1f, -1, 0f, 0f, 0f, penalty, null, List.of(), false, 0);
            Sampler lazy = new Sampler(p, List.of());
            Sampler eager = new Sampler(p, List.of());
            assertEquals(0f, lazy.lastLogprob(), "nothing picked yet");
            for (int step = 0; step < 4; step++) {
                int from = 6 * (step % 2);
                int id = lazy.next(rows, from, 6);
                Sampled s = eager.sample(rows, from, 6, 0);
                assertEquals(s.tokenId(), id, "penalty " + penalty + ", step " + step);
                assertEquals(Float.floatToRawIntBits(s.logprob()), Float.floatToRawIntBits(lazy.lastLogprob()),
                        "penalty " + penalty + ", step " + step);
            }
        }
        float[] row = LOGITS.clone();
        Sampler plain = new Sampler(SamplingParams.greedy(4), List.of());
        assertEquals(1, plain.next(row, 0, 6));
        assertEquals((float) (3.0 - Logprobs.logNormalizer(row, 0, 6)), plain.lastLogprob());
    }

    @Test
    void temperaturesBelowOneInAHundredThousandAreGreedyNeverNaN() {
        Sampled greedy = new Sampler(SamplingParams.greedy(4), List.of()).sample(LOGITS, 3);
        for (float t : new float[] {1e-40f, Float.MIN_VALUE, 1e-20f, 9.9e-6f}) {
            SamplingParams p = params(t, 0.9f, -1, 0f, null);
            assertTrue(p.isGreedy(), "temperature " + t);
            Sampled s = new Sampler(p, List.of()).sample(LOGITS, 3);
            assertEquals(greedy, s, "temperature " + t);
            assertTrue(Float.isFinite(s.logprob()));
        }
        // From 1e-5 on, temperature samples (SGLang's and vLLM's threshold), and the scaled logits stay finite.
        SamplingParams p = params(1e-5f, 1f, -1, 0f, 5L);
        assertTrue(!p.isGreedy());
        Sampled s = new Sampler(p, List.of()).sample(LOGITS, 3);
        assertEquals(1, s.tokenId());
        assertTrue(Float.isFinite(s.logprob()));
    }

    @Test
    void seededSamplingIsReproducibleAndSeedsDiffer() {
        int[] a = draw(new Sampler(params(1f, 1f, -1, 0f, 42L), List.of()), 64);
        int[] b = draw(new Sampler(params(1f, 1f, -1, 0f, 42L), List.of()), 64);
        int[] c = draw(new Sampler(params(1f, 1f, -1, 0f, 43L), List.of()), 64);
        assertArrayEquals(a, b);
        assertNotEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(c));
    }

    @Test
    void frequenciesFollowTheTemperatureScaledDistribution() {
        float[] logits = {(float) Math.log(0.7), (float) Math.log(0.2), (float) Math.log(0.1)};
        int[] counts = new int[3];
        Sampler s = new Sampler(params(1f, 1f, -1, 0f, 7L), List.of());
        int n = 20000;
        for (int i = 0; i < n; i++) {
            counts[s.sample(logits, 0).tokenId()]++;
        }
        assertEquals(0.7, counts[0] / (double) n, 0.015);
        assertEquals(0.2, counts[1] / (double) n, 0.015);
        assertEquals(0.1, counts[2] / (double) n, 0.015);
        // Temperature 0.5 squares the odds: 0.49 : 0.04 : 0.01 → 0.907, 0.074, 0.019.
        counts = new int[3];
        s = new Sampler(params(0.5f, 1f, -1, 0f, 7L), List.of());
        for (int i = 0; i < n; i++) {
            counts[s.sample(logits, 0).tokenId()]++;
        }
        assertEquals(0.49 / 0.54, counts[0] / (double) n, 0.015);
        Sampled one = s.sample(logits, 0);
        assertEquals(Math.log(switch (one.tokenId()) {
            case 0 -> 0.49 / 0.54;
            case 1 -> 0.04 / 0.54;
            default -> 0.01 / 0.54;
        }), one.logprob(), 1e-5);
    }

    @Test
    void topKTopPAndMinPKeepOnlyTheirCandidates() {
        assertEquals(Set.of(1, 5), drawn(params(5f, 1f, 2, 0f, 1L)));
        assertEquals(Set.of(1), drawn(params(5f, 1e-6f, -1, 0f, 1L)));
        assertEquals(Set.of(1), drawn(params(5f, 1f, 1, 0f, 1L)));
        // min_p 0.9 of the top probability: only tokens within ln(1/0.9)*T of the top logit survive.
        assertEquals(Set.of(1, 5), drawn(params(1f, 1f, -1, 0.9f, 1L)));
        // top_p keeps the smallest prefix whose mass reaches p: at T=1, p(1)≈0.33, p(5)≈0.30, p(2)≈0.20.
        assertEquals(Set.of(1, 5), drawn(params(1f, 0.5f, -1, 0f, 1L)));
        assertEquals(Set.of(0, 1, 2, 3, 4, 5), drawn(params(5f, 1f, -1, 0f, 1L)));
    }

    @Test
    void penaltiesApplyToOutputTokens() {
        float[] logits = {2.0f, 1.9f, -1.0f};
        Sampler presence = new Sampler(new SamplingParams(8, 0f, 1f, -1, 0f, 0f, 0.5f, 1f, null, List.of(), false, 0),
                List.of());
        assertEquals(0, presence.sample(logits, 0).tokenId());
        assertEquals(1, presence.sample(logits, 0).tokenId()); // 2.0 - 0.5 < 1.9
        float[] adjusted = presence.adjusted(logits);
        assertArrayEquals(new float[] {1.5f, 1.4f, -1.0f}, adjusted);

        Sampler frequency = new Sampler(new SamplingParams(8, 0f, 1f, -1, 0f, 0.25f, 0f, 1f, null, List.of(), false, 0),
                List.of());
        frequency.accept(0);
        frequency.accept(0);
        frequency.accept(2);
        assertArrayEquals(new float[] {1.5f, 1.9f, -1.25f}, frequency.adjusted(logits));

        Sampler repetition = new Sampler(new SamplingParams(8, 0f, 1f, -1, 0f, 0f, 0f, 2f, null, List.of(), false, 0),
                List.of());
        repetition.accept(0);
        repetition.accept(2);
        assertArrayEquals(new float[] {1.0f, 1.9f, -2.0f}, repetition.adjusted(logits));
    }

    /**
     * All three penalties over a long output with many distinct ids (the count table grows several times, ids
     * collide in it): the adjusted logits are, bit for bit, those of SGLang's formula applied per distinct id with
     * counts kept in a plain map.
     */
    @Test
    void penaltiesOverManyDistinctTokensMatchTheFormulaExactly() {
        int vocab = 5000;
        float[] logits = new float[vocab];
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) (r.nextDouble() * 8 - 4);
        }
        SamplingParams p = new SamplingParams(4096, 0f, 1f, -1, 0f, 0.3f, -0.7f, 1.3f, null, List.of(), true, 0);
        Sampler s = new Sampler(p, List.of());
        java.util.Map<Integer, Integer> counts = new java.util.HashMap<>();
        for (int n = 0; n < 3000; n++) {
            int id = n % 7 == 0 ? 4096 * (n % 3) : r.nextInt(n < 1500 ? 300 : vocab); // repeats, spread, collisions
            s.accept(id);
            counts.merge(id, 1, Integer::sum);
            if (n % 499 == 0 || n == 2999) {
                float[] expected = logits.clone();
                for (var e : counts.entrySet()) {
                    int t = e.getKey();
                    if (t >= vocab) {
                        continue; // an id beyond this row (8192) is left alone
                    }
                    expected[t] = expected[t] > 0 ? expected[t] / 1.3f : expected[t] * 1.3f;
                    expected[t] -= 0.3f * e.getValue() + -0.7f;
                }
                assertArrayEquals(expected, s.adjusted(logits), "after " + (n + 1) + " tokens");
            }
        }
        assertTrue(counts.size() > 1000, "distinct ids: " + counts.size());
    }

    @Test
    void minNewTokensMasksEosAndStopIds() {
        float[] logits = {0f, 5f, 4f, 1f};
        SamplingParams p = new SamplingParams(8, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(2), false, 2);
        Sampler s = new Sampler(p, List.of(1));
        assertEquals(3, s.sample(logits, 0).tokenId()); // 1 (EOS) and 2 (stop id) masked
        assertEquals(3, s.sample(logits, 0).tokenId());
        assertEquals(1, s.sample(logits, 0).tokenId()); // two tokens exist: unmasked
    }

    @Test
    void invalidParametersNameTheField() {
        assertEquals("sampling_params.temperature must be >= 0, got -0.5",
                assertThrows(IllegalArgumentException.class, () -> params(-0.5f, 1f, -1, 0f, null)).getMessage());
        assertEquals("sampling_params.top_p must be in (0, 1], got 1.5",
                assertThrows(IllegalArgumentException.class, () -> params(1f, 1.5f, -1, 0f, null)).getMessage());
        assertEquals("sampling_params.top_k must be -1 (all) or >= 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> params(1f, 1f, 0, 0f, null)).getMessage());
        assertEquals("sampling_params.max_new_tokens must be >= 0, got -3",
                assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy(-3)).getMessage());
    }

    @Test
    void topKOrdersByLogprobThenLowerId() {
        float[] lp = {-1f, -0.5f, -0.5f, -3f, -0.1f};
        List<TokenLogprob> top = Logprobs.topK(lp, 4);
        assertEquals(List.of(new TokenLogprob(-0.1f, 4), new TokenLogprob(-0.5f, 1), new TokenLogprob(-0.5f, 2),
                new TokenLogprob(-1f, 0)), top);
        assertEquals(5, Logprobs.topK(lp, 10).size());
        assertTrue(Logprobs.topK(lp, 0).isEmpty());
    }

    private static int[] draw(Sampler s, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = s.sample(LOGITS, 0).tokenId();
        }
        return out;
    }

    private static Set<Integer> drawn(SamplingParams p) {
        Sampler s = new Sampler(p, List.of());
        Set<Integer> seen = new HashSet<>();
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            int t = s.sample(LOGITS, 0).tokenId();
            seen.add(t);
            all.add(t);
        }
        return seen;
    }
}
