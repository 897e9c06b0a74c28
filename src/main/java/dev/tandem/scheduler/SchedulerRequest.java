package dev.tandem.scheduler;

import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.grammar.TokenGrammar;
import dev.tandem.transfer.Bootstrap;

import java.util.List;

/**
 * A request as the scheduler receives it: already tokenized and validated by the API layer.
 *
 * @param rid             this item's id
 * @param group           the rid the client named, from which {@code rid} was derived ({@code n} copies, OpenAI
 *                        choices); equal to {@code rid} for a request that was not expanded. An abort by rid reaches
 *                        the items whose rid or group equals it (see {@link RequestScope.Rid}).
 * @param logprobStartLen first prompt position whose logprob is returned, -1 for none
 * @param stop            stop strings, matched on the decoded output and trimmed from the text
 * @param bootstrap       PD coordinates (prefill/decode workers only), or null
 * @param grammar         the structured-output constraint every sampled token must keep to, or null
 */
public record SchedulerRequest(String rid, String group, int[] inputIds, SamplingParams params, boolean returnLogprob,
                               int logprobStartLen, int topLogprobsNum, StopStrings stop, OutputSink sink,
                               Bootstrap bootstrap, TokenGrammar grammar) {
    public SchedulerRequest {
        group = group == null ? rid : group;
        stop = stop == null ? StopStrings.NONE : stop;
        if (inputIds.length == 0) {
            throw new IllegalArgumentException("input_ids: the prompt is empty");
        }
    }

    /** An unconstrained request. */
    public SchedulerRequest(String rid, String group, int[] inputIds, SamplingParams params, boolean returnLogprob,
                            int logprobStartLen, int topLogprobsNum, StopStrings stop, OutputSink sink,
                            Bootstrap bootstrap) {
        this(rid, group, inputIds, params, returnLogprob, logprobStartLen, topLogprobsNum, stop, sink, bootstrap, null);
    }

    /** A request that is its own group, its stop strings compiled here. */
    public SchedulerRequest(String rid, int[] inputIds, SamplingParams params, boolean returnLogprob,
                            int logprobStartLen, int topLogprobsNum, List<String> stop, OutputSink sink,
                            Bootstrap bootstrap) {
        this(rid, rid, inputIds, params, returnLogprob, logprobStartLen, topLogprobsNum, StopStrings.of(stop), sink,
                bootstrap);
    }
}
