package dev.tandem.scheduler;

/**
 * A snapshot of the scheduler, published after every step for {@code /get_load}, {@code /get_server_info} and
 * metrics.
 *
 * @param load SGLang's load: KV tokens in use plus the prompt tokens of waiting requests
 */
public record SchedulerStats(int running, int waiting, int usedPages, int totalPages, int pageSize, long load,
                             long generatedTokens, long promptTokens, long retractions) {

    public static SchedulerStats empty(int totalPages, int pageSize) {
        return new SchedulerStats(0, 0, 0, totalPages, pageSize, 0, 0, 0, 0);
    }
}
