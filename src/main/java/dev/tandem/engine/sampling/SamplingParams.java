package dev.tandem.engine.sampling;

import java.util.List;

/**
 * How to pick each next token, with SGLang's names and defaults. Validated on construction; errors name the field
 * and the value.
 *
 * @param maxNewTokens      tokens to generate at most (128)
 * @param temperature       below {@link #GREEDY_BELOW} means greedy (1.0)
 * @param topP              nucleus mass in (0, 1] (1.0)
 * @param topK              keep the k most likely, -1 for all (-1)
 * @param minP              drop tokens below minP × the top probability (0)
 * @param frequencyPenalty  subtracted per earlier occurrence in the output, in [-2, 2] (0)
 * @param presencePenalty   subtracted once if the token occurred in the output, in [-2, 2] (0)
 * @param repetitionPenalty divides positive / multiplies negative logits of output tokens, in (0, 2] (1)
 * @param seed              per-request seed for reproducible sampling, or null for a random one
 * @param stopTokenIds      extra ids that end generation
 * @param ignoreEos         keep going past EOS ids
 * @param minNewTokens      EOS and stop ids are masked until this many tokens exist (0)
 */
public record SamplingParams(int maxNewTokens, float temperature, float topP, int topK, float minP,
                             float frequencyPenalty, float presencePenalty, float repetitionPenalty, Long seed,
                             List<Integer> stopTokenIds, boolean ignoreEos, int minNewTokens) {
    /**
     * Temperatures below this sample greedily, as SGLang (which then sets temperature 1 and top_k 1) and vLLM
     * ({@code _SAMPLING_EPS}) do: dividing logits by a temperature such as 1e-40 overflows to infinity and the
     * softmax to NaN.
     */
    public static final float GREEDY_BELOW = 1e-5f;

    public SamplingParams {
        stopTokenIds = stopTokenIds == null ? List.of() : List.copyOf(stopTokenIds);
        check(maxNewTokens >= 0, "max_new_tokens", maxNewTokens, "must be >= 0");
        check(temperature >= 0 && Float.isFinite(temperature), "temperature", temperature, "must be >= 0");
        check(topP > 0 && topP <= 1, "top_p", topP, "must be in (0, 1]");
        check(topK == -1 || topK >= 1, "top_k", topK, "must be -1 (all) or >= 1");
        check(minP >= 0 && minP <= 1, "min_p", minP, "must be in [0, 1]");
        check(Math.abs(frequencyPenalty) <= 2, "frequency_penalty", frequencyPenalty, "must be in [-2, 2]");
        check(Math.abs(presencePenalty) <= 2, "presence_penalty", presencePenalty, "must be in [-2, 2]");
        check(repetitionPenalty > 0 && repetitionPenalty <= 2, "repetition_penalty", repetitionPenalty,
                "must be in (0, 2]");
        check(minNewTokens >= 0, "min_new_tokens", minNewTokens, "must be >= 0");
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens. */
    public static SamplingParams greedy(int maxNewTokens) {
        return new SamplingParams(maxNewTokens, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), false, 0);
    }

    public SamplingParams withTemperature(float t) {
        return new SamplingParams(maxNewTokens, t, topP, topK, minP, frequencyPenalty, presencePenalty,
                repetitionPenalty, seed, stopTokenIds, ignoreEos, minNewTokens);
    }

    public SamplingParams withMaxNewTokens(int n) {
        return new SamplingParams(n, temperature, topP, topK, minP, frequencyPenalty, presencePenalty,
                repetitionPenalty, seed, stopTokenIds, ignoreEos, minNewTokens);
    }

    public SamplingParams withSeed(Long s) {
        return new SamplingParams(maxNewTokens, temperature, topP, topK, minP, frequencyPenalty, presencePenalty,
                repetitionPenalty, s, stopTokenIds, ignoreEos, minNewTokens);
    }

    /** Greedy: argmax of the logits, with logprobs of the unscaled logits (the same for every such temperature). */
    public boolean isGreedy() {
        return temperature < GREEDY_BELOW || topK == 1;
    }

    public boolean hasPenalties() {
        return frequencyPenalty != 0 || presencePenalty != 0 || repetitionPenalty != 1;
    }

    private static void check(boolean ok, String field, Object value, String rule) {
        if (!ok) {
            throw new IllegalArgumentException("sampling_params." + field + " " + rule + ", got " + value);
        }
    }
}
