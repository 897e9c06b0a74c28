package dev.tandem.scheduler;

/**
 * A snapshot of the scheduler, published after every step for {@code /get_load}, {@code /get_server_info} and
 * metrics.
 *
 * @param usedPages      pages held by requests (pages only the prefix cache holds are evictable, so not counted)
 * @param load           SGLang's load: KV tokens in use plus the prompt tokens of waiting requests
 * @param cachedPages    pages the prefix cache holds (locked or not)
 * @param cacheHitTokens prompt tokens served from the prefix cache (cumulative)
 * @param paused         running requests whose decoding waits for a slow streaming reader
 */
public record SchedulerStats(int running, int waiting, int usedPages, int totalPages, int pageSize, long load,
                             long generatedTokens, long promptTokens, long retractions, Pd pd, int cachedPages,
                             long cacheHitTokens, int paused) {

    /**
     * The disaggregation queues and failure counts (SGLang's PD gauges, §10.1); zeros on a colocated worker.
     *
     * @param preallocQueue   prefill: bootstrap queue; decode: prealloc queue
     * @param transferQueue   prefill: inflight queue; decode: transfer queue
     * @param bootstrapFailed requests whose handshake failed (cumulative)
     * @param transferFailed  requests whose transfer failed (cumulative)
     */
    public record Pd(int preallocQueue, int transferQueue, long bootstrapFailed, long transferFailed) {
        public static final Pd NONE = new Pd(0, 0, 0, 0);
    }

    public static SchedulerStats empty(int totalPages, int pageSize) {
        return new SchedulerStats(0, 0, 0, totalPages, pageSize, 0, 0, 0, 0, Pd.NONE, 0, 0, 0);
    }
}
