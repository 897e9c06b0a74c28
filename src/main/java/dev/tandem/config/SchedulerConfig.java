package dev.tandem.config;

/**
 * Limits of the continuous-batching scheduler (SGLang's server arguments of the same names).
 *
 * @param maxRunningRequests requests decoding at once
 * @param maxTotalTokens     KV pool size in tokens
 * @param chunkedPrefillSize prompt tokens per step across requests; -1 disables chunking
 * @param contextLength      prompt + max_new_tokens limit per request
 * @param pageSize           tokens per KV page
 * @param radixCache         reuse cached prompt prefixes (SGLang's radix cache; off with --disable-radix-cache)
 */
public record SchedulerConfig(int maxRunningRequests, int maxTotalTokens, int chunkedPrefillSize, int contextLength,
                              int pageSize, boolean radixCache) {
    public SchedulerConfig {
        if (maxRunningRequests < 1) {
            throw new ConfigException("max_running_requests", maxRunningRequests, ">= 1");
        }
        if (pageSize < 1) {
            throw new ConfigException("page_size", pageSize, ">= 1");
        }
        if (maxTotalTokens < pageSize) {
            throw new ConfigException("max_total_tokens", maxTotalTokens, ">= page_size (" + pageSize + ")");
        }
        if (chunkedPrefillSize == 0 || chunkedPrefillSize < -1) {
            throw new ConfigException("chunked_prefill_size", chunkedPrefillSize, "-1 (off) or >= 1");
        }
        if (contextLength < 2) {
            throw new ConfigException("context_length", contextLength, ">= 2");
        }
    }

    /** The same limits without a prefix cache (decode workers: their KV arrives by transfer, SGLang keeps none). */
    public SchedulerConfig withoutRadixCache() {
        return new SchedulerConfig(maxRunningRequests, maxTotalTokens, chunkedPrefillSize, contextLength, pageSize,
                false);
    }
}
