package dev.tandem.api;

import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.transfer.Bootstrap;

import java.util.List;

/**
 * One item of a {@code /generate} request after parsing (a batch has several): exactly one of {@code text} and
 * {@code inputIds} is set. {@code bootstrap} carries the PD fields a load balancer injected, or is null.
 */
public record GenerateInput(String rid, String text, int[] inputIds, SamplingParams params, List<String> stop,
                            boolean returnLogprob, int logprobStartLen, int topLogprobsNum,
                            boolean returnTextInLogprobs, Bootstrap bootstrap) {

    public GenerateInput withBootstrap(Bootstrap b) {
        return new GenerateInput(rid, text, inputIds, params, stop, returnLogprob, logprobStartLen, topLogprobsNum,
                returnTextInLogprobs, b);
    }
}
