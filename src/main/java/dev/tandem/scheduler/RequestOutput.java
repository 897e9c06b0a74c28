package dev.tandem.scheduler;

import dev.tandem.engine.Generator;
import dev.tandem.engine.sampling.Sampled;

import java.util.List;

/**
 * What one scheduler step produced for one request: the tokens and text that are new since the previous output,
 * and, on the last output, why it finished. Counts are cumulative.
 *
 * @param newIds           token ids new since the previous output
 * @param textDelta        text new since the previous output (held back while it may be part of a stop string)
 * @param newLogprobs      the sampled tokens' logprobs and top alternatives, one per new id (empty unless asked)
 * @param inputLogprobs    prompt logprobs, on the first output only (empty unless asked)
 * @param finish           null until the request finished
 */
public record RequestOutput(String rid, int[] newIds, String textDelta, List<Sampled> newLogprobs,
                            List<Generator.InputLogprob> inputLogprobs, FinishReason finish, int promptTokens,
                            int completionTokens, int cachedTokens) {

    public boolean finished() {
        return finish != null;
    }
}
