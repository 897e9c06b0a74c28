package dev.tandem.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sampler orders candidates with a heap popped only as far as top_k/top_p/min_p reach, in place on a row of a
 * larger logits array. It must pick exactly the token the earlier implementation picked for the same seed: that one
 * (a full sort of the vocabulary, copied here verbatim as the reference) is what seeded requests were reproducible
 * against. Checked over fixed seeds on a vocabulary-sized row with ties, -inf entries and a peaked distribution.
 */
class SamplerSelectionTest {
    private static final int VOCAB = 5003;

    @Test
    void sameTokensAsAFullSortForFixedSeeds() {
        float[][] settings = { // temperature, top_p, top_k, min_p
                {1f, 1f, -1, 0f}, {0.7f, 0.9f, -1, 0f}, {1.3f, 1f, 40, 0f}, {0.8f, 0.95f, 50, 0.05f},
                {1f, 0.5f, 1, 0f}, {0.6f, 1f, -1, 0.1f}, {2f, 0.99f, 1000, 0f}, {1f, 0.1f, -1, 0f}};
        SplittableRandom r = new SplittableRandom(5);
        int checked = 0;
        int distinct = 0;
        for (int row = 0; row < 6; row++) {
            // A batch of rows, as the forward pass leaves them; the sampled one is in the middle.
            float[] batch = new float[3 * VOCAB];
            for (int i = 0; i < batch.length; i++) {
                batch[i] = (float) (r.nextGaussian() * (1 + row)); // wider rows are more peaked after softmax
            }
            int from = VOCAB;
            batch[from + 17] = batch[from + 18] = batch[from + 400]; // ties
            batch[from + 5] = Float.NEGATIVE_INFINITY;
            float[] copy = batch.clone();
            for (float[] st : settings) {
                for (long seed = 1; seed <= 8; seed++) {
                    SamplingParams p = new SamplingParams(64, st[0], st[1], (int) st[2], st[3], 0f, 0f, 1f, seed,
                            List.of(), false, 0);
                    Sampler heap = new Sampler(p, List.of());
                    Sampler sort = new Sampler(p, List.of());
                    SplittableRandom reference = new SplittableRandom(seed);
                    float[] row0 = Arrays.copyOfRange(batch, from, from + VOCAB);
                    int last = -1;
                    for (int step = 0; step < 4; step++) {
                        int want = fullSort(row0, p, reference);
                        Sampled got = heap.sample(batch, from, VOCAB, 0);
                        assertEquals(want, got.tokenId(), "row " + row + " " + Arrays.toString(st) + " seed " + seed
                                + " step " + step);
                        assertEquals(want, sort.sample(row0, 0).tokenId(), "the whole-array entry point");
                        assertEquals(logSoftmaxScaled(row0, st[0])[want], got.logprob(), "logprob of the token");
                        distinct += got.tokenId() != last ? 1 : 0;
                        last = got.tokenId();
                        checked++;
                    }
                }
            }
            assertTrue(Arrays.equals(copy, batch), "the logits are read in place, not modified");
        }
        assertEquals(6 * 8 * 8 * 4, checked);
        assertTrue(distinct > checked / 3, "the draws vary (" + distinct + " changes in " + checked + ")");
    }

    private static float[] logSoftmaxScaled(float[] l, float temperature) {
        float invT = 1f / temperature;
        float[] scaled = new float[l.length];
        for (int i = 0; i < l.length; i++) {
            scaled[i] = l[i] * invT;
        }
        return Logprobs.logSoftmax(scaled);
    }

    /** The earlier implementation: every candidate packed and sorted, then the same cut and draw. */
    private static int fullSort(float[] l, SamplingParams params, SplittableRandom random) {
        int v = l.length;
        float[] lp = logSoftmaxScaled(l, params.temperature());
        long[] packed = new long[v];
        for (int i = 0; i < v; i++) {
            float p = (float) Math.exp(lp[i]);
            packed[i] = ((long) Float.floatToRawIntBits(p) << 32) | (0xFFFFFFFFL - i);
        }
        Arrays.sort(packed);
        int keep = params.topK() > 0 ? Math.min(params.topK(), v) : v;
        float maxP = probOf(packed[v - 1]);
        double cum = 0;
        int kept = 0;
        double mass = 0;
        for (int r = 0; r < keep; r++) {
            float p = probOf(packed[v - 1 - r]);
            if (r > 0 && (cum > params.topP() || p < params.minP() * maxP)) {
                break;
            }
            cum += p;
            mass += p;
            kept++;
        }
        double u = random.nextDouble() * mass;
        int id = idOf(packed[v - 1]);
        for (int r = 0; r < kept; r++) {
            long c = packed[v - 1 - r];
            u -= probOf(c);
            id = idOf(c);
            if (u <= 0) {
                break;
            }
        }
        return id;
    }

    private static float probOf(long packed) {
        return Float.intBitsToFloat((int) (packed >>> 32));
    }

    private static int idOf(long packed) {
        return (int) (0xFFFFFFFFL - (packed & 0xFFFFFFFFL));
    }
}
