package dev.tandem.bench;

/** One parsed server-sent event of SGLang's streaming {@code /generate} response. */
public sealed interface SseEvent {
    /** {@code data: [DONE]}: the stream is complete. */
    record Done() implements SseEvent {
    }

    /**
     * A progress event.
     *
     * @param ids              its {@code output_ids} (new since the previous event when the server streams
     *                         incrementally, as Tandem and SGLang with incremental output do; all so far otherwise)
     * @param completionTokens {@code meta_info.completion_tokens} (cumulative), or -1 when absent
     * @param promptTokens     {@code meta_info.prompt_tokens}, or -1 when absent
     * @param finished         whether {@code meta_info.finish_reason} was set (non-null)
     * @param cachedTokens     {@code meta_info.cached_tokens} (prompt tokens served from a prefix cache), or -1
     */
    record Data(int[] ids, int completionTokens, int promptTokens, boolean finished, int cachedTokens)
            implements SseEvent {
        public Data {
            ids = ids.clone();
        }

        public Data(int[] ids, int completionTokens, int promptTokens, boolean finished) {
            this(ids, completionTokens, promptTokens, finished, -1);
        }

        /** How many ids its {@code output_ids} held. */
        public int outputIds() {
            return ids.length;
        }

        @Override
        public int[] ids() {
            return ids.clone();
        }

        /** Ids compare by content (a record's default would compare the array reference). */
        @Override
        public boolean equals(Object o) {
            return o instanceof Data d && java.util.Arrays.equals(ids, d.ids) && completionTokens == d.completionTokens
                    && promptTokens == d.promptTokens && finished == d.finished && cachedTokens == d.cachedTokens;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(java.util.Arrays.hashCode(ids), completionTokens, promptTokens, finished,
                    cachedTokens);
        }

        @Override
        public String toString() {
            return "Data[ids=" + java.util.Arrays.toString(ids) + ", completionTokens=" + completionTokens
                    + ", promptTokens=" + promptTokens + ", finished=" + finished + ", cachedTokens=" + cachedTokens
                    + "]";
        }
    }

    /** An event carrying {@code "error"}, or one we could not parse; the request failed. */
    record Error(String message) implements SseEvent {
    }
}
