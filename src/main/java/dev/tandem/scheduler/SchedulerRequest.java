package dev.tandem.scheduler;

import dev.tandem.engine.sampling.SamplingParams;
import dev.tandem.transfer.Bootstrap;

import java.util.List;

/**
 * A request as the scheduler receives it: already tokenized and validated by the API layer.
 *
 * @param logprobStartLen first prompt position whose logprob is returned, -1 for none
 * @param stop            stop strings, matched on the decoded output and trimmed from the text
 * @param bootstrap       PD coordinates (prefill/decode workers only), or null
 */
public record SchedulerRequest(String rid, int[] inputIds, SamplingParams params, boolean returnLogprob,
                               int logprobStartLen, int topLogprobsNum, List<String> stop, OutputSink sink,
                               Bootstrap bootstrap) {
    public SchedulerRequest {
        stop = stop == null ? List.of() : List.copyOf(stop);
        if (inputIds.length == 0) {
            throw new IllegalArgumentException("input_ids: the prompt is empty");
        }
    }
}
