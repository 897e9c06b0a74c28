package dev.tandem.bench;

/** One parsed server-sent event of SGLang's streaming {@code /generate} response. */
public sealed interface SseEvent {
    /** {@code data: [DONE]}: the stream is complete. */
    record Done() implements SseEvent {
    }

    /**
     * A progress event.
     *
     * @param outputIds        how many ids its {@code output_ids} held (ids new since the previous event)
     * @param completionTokens {@code meta_info.completion_tokens} (cumulative), or -1 when absent
     * @param promptTokens     {@code meta_info.prompt_tokens}, or -1 when absent
     * @param finished         whether {@code meta_info.finish_reason} was set (non-null)
     * @param cachedTokens     {@code meta_info.cached_tokens} (prompt tokens served from a prefix cache), or -1
     */
    record Data(int outputIds, int completionTokens, int promptTokens, boolean finished, int cachedTokens)
            implements SseEvent {
        public Data(int outputIds, int completionTokens, int promptTokens, boolean finished) {
            this(outputIds, completionTokens, promptTokens, finished, -1);
        }
    }

    /** An event carrying {@code "error"}, or one we could not parse; the request failed. */
    record Error(String message) implements SseEvent {
    }
}
