package dev.tandem.bench;

/**
 * The outcome of one benchmark request. Latencies are in milliseconds and NaN when the request failed.
 *
 * @param error        the first error (HTTP status, error event, transport failure, timeout), null on success
 * @param itlMs        one inter-token latency sample per token after the first token-carrying event
 * @param outputTokens final {@code completion_tokens}, or the ids counted when the server never reported it
 * @param promptTokens {@code prompt_tokens} as the server reported it, or -1
 * @param cachedTokens {@code cached_tokens} as the server reported it (its prefix-cache hit), or -1
 * @param outputIds    the generated ids in order, as streamed (empty when the server sent counts only)
 */
public record RequestResult(boolean success, String error, double ttftMs, double e2eMs, double[] itlMs,
                            int outputTokens, int promptTokens, int cachedTokens, int[] outputIds) {
    public RequestResult(boolean success, String error, double ttftMs, double e2eMs, double[] itlMs,
                         int outputTokens) {
        this(success, error, ttftMs, e2eMs, itlMs, outputTokens, -1, -1);
    }

    public RequestResult(boolean success, String error, double ttftMs, double e2eMs, double[] itlMs,
                         int outputTokens, int promptTokens, int cachedTokens) {
        this(success, error, ttftMs, e2eMs, itlMs, outputTokens, promptTokens, cachedTokens, new int[0]);
    }

    /** The 99th percentile of this request's inter-token latencies; 0 when it has none (one output token). */
    public double itlP99Ms() {
        return itlMs.length == 0 ? 0 : Stats.percentile(itlMs, 99);
    }

    public static RequestResult failed(String error) {
        return new RequestResult(false, error, Double.NaN, Double.NaN, new double[0], 0);
    }
}
