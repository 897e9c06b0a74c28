package dev.tandem.bench;

import java.util.List;

/**
 * Goodput at a service-level objective: the requests that succeeded with a time to first token within
 * {@code sloTtftMs} and the 99th percentile of their own inter-token latencies within {@code sloItlMs}, as a fraction
 * of all requests sent and as a rate over the whole run (like SGLang's {@code bench_serving --goodput}, with ITL p99
 * per request where SGLang takes TPOT).
 *
 * @param met      requests within both objectives
 * @param sent     requests in the run (failed ones count against the fraction)
 * @param fraction {@code met / sent}
 * @param ratePerS {@code met / durationS}: NaN when the duration is not positive
 */
public record Goodput(int met, int sent, double fraction, double ratePerS) {
    public static Goodput of(List<RequestResult> results, double durationS, double sloTtftMs, double sloItlMs) {
        int met = 0;
        for (RequestResult r : results) {
            if (r.success() && r.ttftMs() <= sloTtftMs && r.itlP99Ms() <= sloItlMs) {
                met++;
            }
        }
        int sent = results.size();
        return new Goodput(met, sent, sent == 0 ? Double.NaN : met / (double) sent,
                durationS > 0 ? met / durationS : Double.NaN);
    }
}
