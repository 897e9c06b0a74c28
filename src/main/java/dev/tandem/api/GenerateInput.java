package dev.tandem.api;

import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.grammar.GrammarSpec;
import dev.tandem.transfer.Bootstrap;

import java.util.List;

/**
 * One item of a {@code /generate} request after parsing (a batch has several): exactly one of {@code text} and
 * {@code inputIds} is set. {@code bootstrap} carries the PD fields a load balancer injected, or is null.
 *
 * @param rid   this item's id: the rid the client gave the item, or one derived from it ({@code rid-k} for the
 *              {@code n} copies of a native request, {@code id-p-k} for OpenAI prompt {@code p}, choice {@code k})
 * @param group the rid the client named and {@code rid} derives from (equal to {@code rid} when not derived):
 *              {@code /abort_request} with that rid reaches this item
 * @param constraint the structured-output constraint (regex, JSON schema, EBNF, json_object), or null
 */
public record GenerateInput(String rid, String group, String text, int[] inputIds, SamplingParams params,
                            List<String> stop, boolean returnLogprob, int logprobStartLen, int topLogprobsNum,
                            boolean returnTextInLogprobs, Bootstrap bootstrap, GrammarSpec constraint) {

    /** An unconstrained item. */
    public GenerateInput(String rid, String group, String text, int[] inputIds, SamplingParams params,
                         List<String> stop, boolean returnLogprob, int logprobStartLen, int topLogprobsNum,
                         boolean returnTextInLogprobs, Bootstrap bootstrap) {
        this(rid, group, text, inputIds, params, stop, returnLogprob, logprobStartLen, topLogprobsNum,
                returnTextInLogprobs, bootstrap, null);
    }

    public GenerateInput {
        group = group == null ? rid : group;
        stop = stop == null ? List.of() : stop;
    }

    public GenerateInput withBootstrap(Bootstrap b) {
        return new GenerateInput(rid, group, text, inputIds, params, stop, returnLogprob, logprobStartLen,
                topLogprobsNum, returnTextInLogprobs, b, constraint);
    }
}
