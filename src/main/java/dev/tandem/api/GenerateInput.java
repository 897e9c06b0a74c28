package dev.tandem.api;

import dev.tandem.engine.sampling.SamplingParams;

import java.util.List;

/**
 * One item of a {@code /generate} request after parsing (a batch has several): exactly one of {@code text} and
 * {@code inputIds} is set.
 */
public record GenerateInput(String rid, String text, int[] inputIds, SamplingParams params, List<String> stop,
                            boolean returnLogprob, int logprobStartLen, int topLogprobsNum,
                            boolean returnTextInLogprobs) {
}
