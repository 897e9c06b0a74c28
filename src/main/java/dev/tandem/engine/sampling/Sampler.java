package dev.tandem.engine.sampling;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks the tokens of one request. Holds that request's random stream (seeded from {@code SamplingParams.seed} when
 * given, so a seeded request samples the same tokens whatever it is batched with) and the counts of the tokens it
 * has output, which the penalties read. Penalties follow SGLang: they look at output tokens only.
 */
public final class Sampler {
    private final SamplingParams params;
    private final int[] endIds; // EOS + stop_token_ids, masked while fewer than min_new_tokens exist
    private final SplittableRandom random;
    private final Map<Integer, Integer> outputCounts = new HashMap<>();
    private int outputs;

    public Sampler(SamplingParams params, List<Integer> eosIds) {
        this.params = params;
        this.endIds = java.util.stream.Stream.concat(eosIds.stream(), params.stopTokenIds().stream())
                .mapToInt(Integer::intValue).distinct().toArray();
        long seed = params.seed() != null ? params.seed() : ThreadLocalRandom.current().nextLong();
        this.random = new SplittableRandom(seed);
    }

    public SamplingParams params() {
        return params;
    }

    /** Records a token as output without sampling it (a prefilled first token, a resumed request). */
    public void accept(int token) {
        outputCounts.merge(token, 1, Integer::sum);
        outputs++;
    }

    /**
     * Records a token that another worker sampled with the same parameters (the prefill worker's first token),
     * consuming the random draw that sampling it here would have used, so a seeded request continues exactly as it
     * would on one worker.
     */
    public void acceptSampledElsewhere(int token) {
        if (!params.isGreedy()) {
            random.nextDouble();
        }
        accept(token);
    }

    /** Picks the next token from {@code logits} (not modified) and records it. */
    public Sampled sample(float[] logits, int topLogprobsNum) {
        float[] l = adjusted(logits);
        Sampled s = params.isGreedy() ? greedy(l, topLogprobsNum) : stochastic(l, topLogprobsNum);
        accept(s.tokenId());
        return s;
    }

    /** Logits after penalties and the min_new_tokens mask: what the sampler actually sees. */
    float[] adjusted(float[] logits) {
        boolean mask = outputs < params.minNewTokens() && endIds.length > 0;
        if (!params.hasPenalties() && !mask) {
            return logits;
        }
        float[] l = logits.clone();
        for (Map.Entry<Integer, Integer> e : outputCounts.entrySet()) {
            int id = e.getKey();
            if (id < 0 || id >= l.length) {
                continue;
            }
            float rp = params.repetitionPenalty();
            l[id] = l[id] > 0 ? l[id] / rp : l[id] * rp;
            l[id] -= params.frequencyPenalty() * e.getValue() + params.presencePenalty();
        }
        if (mask) {
            for (int id : endIds) {
                if (id >= 0 && id < l.length) {
                    l[id] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        return l;
    }

    private Sampled greedy(float[] l, int topN) {
        int id = Logprobs.argmax(l);
        if (topN <= 0) { // the common case: one logprob, no vocab-sized array per token
            return new Sampled(id, (float) (l[id] - Logprobs.logNormalizer(l)), List.of());
        }
        float[] lp = Logprobs.logSoftmax(l);
        return new Sampled(id, lp[id], Logprobs.topK(lp, topN));
    }

    private Sampled stochastic(float[] l, int topN) {
        int v = l.length;
        float invT = 1f / params.temperature();
        float[] scaled = new float[v];
        for (int i = 0; i < v; i++) {
            scaled[i] = l[i] * invT;
        }
        float[] lp = Logprobs.logSoftmax(scaled);
        // Candidates by probability, best first: pack (probability bits, id) so one primitive sort orders them;
        // non-negative floats order like their bit patterns.
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
        return new Sampled(id, lp[id], Logprobs.topK(lp, topN));
    }

    private static float probOf(long packed) {
        return Float.intBitsToFloat((int) (packed >>> 32));
    }

    private static int idOf(long packed) {
        return (int) (0xFFFFFFFFL - (packed & 0xFFFFFFFFL));
    }
}
