package dev.tandem.engine.sampling;

import java.util.Arrays;
import java.util.List;
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
    private final TokenCounts outputCounts = new TokenCounts(); // primitive: nothing boxed per token
    private int outputs;
    private float lastLogprob;  // of the token next() returned last, once known
    private boolean lastLogprobKnown = true; // false after a greedy pick, until lastLogprob() is asked
    private float[] lastRow;    // the row it sampled from (after penalties), for its logprob and top logprobs
    private int lastFrom;
    private int lastVocab;
    private int lastId;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

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
        if (params.hasPenalties()) { // only the penalties read the counts
            outputCounts.add(token);
        }
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
        return sample(logits, 0, logits.length, topLogprobsNum);
    }

    /** As {@link #sample(float[], int)} on the row {@code logits[from, from + vocab)}, read in place. */
    public Sampled sample(float[] logits, int from, int vocab, int topLogprobsNum) {
        int id = next(logits, from, vocab);
        float logprob = lastLogprob();
        if (topLogprobsNum <= 0) {
            return new Sampled(id, logprob, List.of());
        }
        // Top logprobs are output the caller asked for: this one list per token may allocate.
        float[] lp = Logprobs.logSoftmax(params.isGreedy() ? Arrays.copyOfRange(lastRow, lastFrom, lastFrom + vocab)
                : scaledCopy(lastRow, lastFrom, vocab));
        return new Sampled(id, logprob, Logprobs.topK(lp, topLogprobsNum));
    }

    /**
     * Picks the next token from the row {@code logits[from, from + vocab)} (read in place, not modified), records it
     * and returns its id; {@link #lastLogprob()} is its logprob. Allocates nothing, penalties and min_new_tokens
     * masking included (counts in a primitive table that only grows, doubling, with the distinct output ids):
     * scratch arrays are per thread, sized to the vocabulary once, and stochastic sampling orders the candidates
     * with a radix sort in those arrays ({@link CandidateOrder}).
     */
    public int next(float[] logits, int from, int vocab) {
        Scratch sc = SCRATCH.get().sized(vocab);
        float[] l = logits;
        int off = from;
        if (adjusts()) {
            System.arraycopy(logits, from, sc.adjusted, 0, vocab);
            adjust(sc.adjusted);
            l = sc.adjusted;
            off = 0;
        }
        lastRow = l;
        lastFrom = off;
        lastVocab = vocab;
        lastLogprobKnown = false;
        int id = params.isGreedy() ? greedy(l, off, vocab) : stochastic(l, off, vocab, sc);
        lastId = id;
        accept(id);
        return id;
    }

    /**
     * The logprob of the token {@link #next} returned last (of the distribution it sampled from). After a greedy
     * pick it is computed here, from the row sampled from, so ask before that row is written again: the log of the
     * normalizer costs ~0.2 ms over a 49k vocabulary (an exp per entry), and a greedy request that returns no
     * logprobs (most of them) never pays it, where it used to on every token (~7 ms a step at batch 32).
     */
    public float lastLogprob() {
        if (!lastLogprobKnown) {
            lastLogprob = (float) (lastRow[lastFrom + lastId] - Logprobs.logNormalizer(lastRow, lastFrom, lastVocab));
            lastLogprobKnown = true;
        }
        return lastLogprob;
    }

    /** Logits after penalties and the min_new_tokens mask: what the sampler actually sees. */
    float[] adjusted(float[] logits) {
        if (!adjusts()) {
            return logits;
        }
        float[] l = logits.clone();
        adjust(l);
        return l;
    }

    private boolean adjusts() {
        return params.hasPenalties() || (outputs < params.minNewTokens() && endIds.length > 0);
    }

    private void adjust(float[] l) {
        boolean mask = outputs < params.minNewTokens() && endIds.length > 0;
        for (int i = 0; i < outputCounts.size(); i++) { // each id once: the order does not change a result
            int id = outputCounts.id(i);
            if (id < 0 || id >= l.length) {
                continue;
            }
            float rp = params.repetitionPenalty();
            l[id] = l[id] > 0 ? l[id] / rp : l[id] * rp;
            l[id] -= params.frequencyPenalty() * outputCounts.count(i) + params.presencePenalty();
        }
        if (mask) {
            for (int id : endIds) {
                if (id >= 0 && id < l.length) {
                    l[id] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }

    private int greedy(float[] l, int off, int vocab) {
        return Logprobs.argmax(l, off, vocab);
    }

    private float[] scaledCopy(float[] l, int off, int vocab) {
        float invT = 1f / params.temperature();
        float[] scaled = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            scaled[i] = l[off + i] * invT;
        }
        return scaled;
    }

    /**
     * Candidates by probability, best first (ties to the lower id), cut by top_k, top_p and min_p, then one draw
     * over what is kept. The order comes from a stable radix sort of (probability bits, id) ({@link CandidateOrder}):
     * the same candidates in the same order as a full sort, so the same token for the same seed.
     */
    private int stochastic(float[] l, int off, int v, Scratch sc) {
        float invT = 1f / params.temperature();
        float[] lp = sc.logprobs;
        for (int i = 0; i < v; i++) {
            lp[i] = l[off + i] * invT;
        }
        double logZ = Logprobs.logNormalizer(lp, 0, v);
        long[] packed = sc.packed;
        for (int i = 0; i < v; i++) {
            lp[i] = (float) (lp[i] - logZ);
            float p = (float) Math.exp(lp[i]);
            // non-negative floats order like their bit patterns; the low word makes lower ids win ties
            packed[i] = ((long) Float.floatToRawIntBits(p) << 32) | (0xFFFFFFFFL - i);
        }
        long[] order = CandidateOrder.bestFirst(packed, sc.order, v, sc.counts);
        int keep = params.topK() > 0 ? Math.min(params.topK(), v) : v;
        float maxP = probOf(order[0]);
        double cum = 0;
        int kept = 0;
        double mass = 0;
        for (int r = 0; r < keep; r++) {
            float p = probOf(order[r]);
            if (r > 0 && (cum > params.topP() || p < params.minP() * maxP)) {
                break;
            }
            cum += p;
            mass += p;
            kept++;
        }
        double u = random.nextDouble() * mass;
        int id = idOf(order[0]);
        for (int r = 0; r < kept; r++) {
            long c = order[r];
            u -= probOf(c);
            id = idOf(c);
            if (u <= 0) {
                break;
            }
        }
        lastLogprob = lp[id];
        lastLogprobKnown = true;
        return id;
    }

    private static float probOf(long packed) {
        return Float.intBitsToFloat((int) (packed >>> 32));
    }

    private static int idOf(long packed) {
        return (int) (0xFFFFFFFFL - (packed & 0xFFFFFFFFL));
    }

    /** Vocabulary-sized work arrays of one thread (the scheduler's), made once per vocabulary size. */
    private static final class Scratch {
        float[] adjusted = new float[0];
        float[] logprobs = new float[0];
        long[] packed = new long[0];
        long[] order = new long[0];
        final int[] counts = new int[CandidateOrder.COUNTS];

        Scratch sized(int vocab) {
            if (logprobs.length != vocab) {
                adjusted = new float[vocab];
                logprobs = new float[vocab];
                packed = new long[vocab];
                order = new long[vocab];
            }
            return this;
        }
    }
}
